/**
 * Imported first by every bench script, before anything that loads a handler module:
 * ES modules run in import order, so these settings are in place when the handlers'
 * logger and AWS clients are created. A bench records thousands of events a second
 * and must not print an INFO line for each one.
 */
import '../../lib/embedded/polyfills.js';

process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
