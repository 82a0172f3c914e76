// Monaco runs its language services in web workers. They are bundled as
// separate files next to main.js (see build.mjs) and loaded from the
// server itself, never from a CDN, so the playground works offline.
// The bundle is a classic script: currentScript is set while it first runs.
const base = new URL('./', document.currentScript.src);

globalThis.MonacoEnvironment = {
  getWorker(_workerId, label) {
    switch (label) {
      case 'json':
        return new Worker(new URL('json.worker.js', base));
      case 'graphql':
        return new Worker(new URL('graphql.worker.js', base));
    }
    return new Worker(new URL('editor.worker.js', base));
  },
};
