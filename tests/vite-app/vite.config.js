// Relative asset URLs (the built page is served from a sub-path), and ES module workers:
// the threads glue's pool worker (wasm-bindgen-rayon) imports the glue, which needs
// code splitting inside the worker bundle.
export default {
  base: './',
  worker: { format: 'es' },
  build: { target: 'es2022' },
};
