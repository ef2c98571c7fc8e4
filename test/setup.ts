import 'aws-sdk-client-mock-vitest/extend';
import '../lib/embedded/polyfills.js';

// Node 20 is supported here; the SDK's notice about its end of life would only clutter test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
