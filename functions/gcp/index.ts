import { http } from '@google-cloud/functions-framework';
import { createGcpHandler } from './handler.js';

/** The entry point (`--entry-point=credwatchScan`); configuration is read on each request, clients on the first. */
http('credwatchScan', createGcpHandler());

export { createGcpHandler, readGcpConfig, type GcpHandlerDeps, type GcpRuntimeConfig } from './handler.js';
