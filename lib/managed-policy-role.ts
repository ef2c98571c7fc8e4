import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/**
 * An IAM role whose permissions live in one customer-managed policy instead of
 * an inline default policy (HIPAA.Security-IAMNoInlinePolicy). Every `grant*`
 * and every statement CDK adds for tracing or the dead-letter queue lands there.
 */
export class ManagedPolicyRole extends iam.Role {
  readonly permissions: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: iam.RoleProps) {
    super(scope, id, props);
    this.permissions = new iam.ManagedPolicy(this, 'Permissions', { roles: [this] });
  }

  override addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.permissions.addStatements(statement);
    return { statementAdded: true, policyDependable: this.permissions };
  }
}
