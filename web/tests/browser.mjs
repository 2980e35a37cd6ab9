// What every page test starts Chromium with: headless, and nothing of its own going to the network
// (the page must work offline, and nothing else may share the test's cores).
export const FLAGS = ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
/** The laptop the page is tested at; the projector view and the phone are set where tested. */
export const LAPTOP = { width: 1280, height: 800 };
