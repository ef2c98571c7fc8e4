import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * What Lambda bundles get for `@aws-sdk/credential-provider-node` (lib/bundling/options.ts):
 * in Lambda the execution role's credentials are in the environment, so the default chain's
 * other providers (ini files, SSO, STS web identity, IMDS, and the nested clients they bring)
 * never apply there, and would only weigh on every cold start (~90 KB a bundle).
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
