import 'aws-sdk-client-mock-vitest/extend';
import '../lib/embedded/polyfills.js';
