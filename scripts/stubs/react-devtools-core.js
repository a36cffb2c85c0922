// Stand-in for react-devtools-core inside the single executable (docs/decisions/executables.md).
// Ink imports it only when the environment variable DEV=true; the bundle defines
// process.env.DEV as "false", so this is never called. It keeps the real package
// (and its WebSocket client) out of the stick's executable.
const devtools = {
  initialize() {},
  connectToDevTools() {},
};
export default devtools;
