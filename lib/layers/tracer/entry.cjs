// The tracer layer's one module (lib/tracer-layer.ts bundles it with everything it needs).
module.exports = require('@aws-lambda-powertools/tracer');
