// Relative asset URLs (the built page is served from a sub-path). Workers need no
// settings: Vite's defaults bundle runnx-web's proxy and thread-pool workers.
export default {
  base: './',
  build: { target: 'es2022' },
};
