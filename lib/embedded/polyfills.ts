/**
 * aws-local-stepfunctions 3 declares Node 22+ and uses Promise.withResolvers;
 * on Node 20 every Task state would throw without it.
 */
const PromiseWithResolvers = Promise as PromiseConstructor & { withResolvers?: unknown };
if (typeof PromiseWithResolvers.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

// Node 20 is supported here (Lambda runs Node 24): the SDK's end-of-life notice is noise on every start.
// Set before any SDK client exists, which is why it lives in this first import.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {};
