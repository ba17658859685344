/** The HTTP edge: API under /v1, the web app at /, and MCP at /mcp when a handler is passed in. */
export type { AppEnv, HttpConfig, HttpDeps } from './context.js';
export { type CreateHttpAppDeps, createHttpApp, type McpHttpHandler } from './http-app.js';
export { type RunningServer, startHttpServer } from './listen.js';
