// The control-plane HTTP server: graphql-yoga (queries, mutations, SSE subscriptions, GraphiQL) plus graphql-ws.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { format } from "node:util";
import { createYoga } from "graphql-yoga";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { CredentialCipher } from "../shared/credential-cipher.ts";
import { authenticate, presentedKey } from "./auth/authenticate.ts";
import type { Config } from "../shared/config.ts";
import type { Context } from "./context.ts";
import { hardeningPlugins, limitRequestBody, MAX_BATCH_OPERATIONS } from "./hardening/index.ts";
import { httpPlugins } from "./http-plugins.ts";
import type { Db } from "./db/client.ts";
import type { ChangeBus } from "./events/pubsub.ts";
import { schema } from "./schema.ts";

export interface ControlPlaneOptions {
  prisma: Db;
  bus: ChangeBus;
  cipher: CredentialCipher;
  config: Config;
  /** Where the server's own log lines go (masked errors' originals among them); yoga's console logger by default. */
  log?: (line: string) => void;
}

export interface ControlPlaneServer {
  server: Server;
  listen(port: number, host: string): Promise<string>;
  close(): Promise<void>;
}

type ServerContext = { req?: IncomingMessage; connectionParams?: Record<string, unknown> };

export function createControlPlaneServer(options: ControlPlaneOptions): ControlPlaneServer {
  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    graphiql: options.config.graphiql,
    plugins: [...hardeningPlugins(options.config), ...httpPlugins(options)],
    landingPage: false,
    ...(options.log ? { logging: lineLogger(options.log) } : {}),
    maskedErrors: { isDev: false },
    batching: { limit: MAX_BATCH_OPERATIONS },
    // The node handler below refuses oversized bodies first; this is yoga's own backstop at the same size.
    maxRequestBodySize: options.config.GRAPHQL_MAX_BODY_BYTES,
    context: async ({ request, req, connectionParams }): Promise<Context> => ({
      prisma: options.prisma,
      bus: options.bus,
      cipher: options.cipher,
      config: options.config,
      caller: await authenticate(options.prisma, presentedKey(request.headers, connectionParams)),
      sourceIp: req?.socket.remoteAddress ?? null,
    }),
  });

  const maxBodyBytes = options.config.GRAPHQL_MAX_BODY_BYTES;
  const server = createServer((req, res) => {
    const request = limitRequestBody(req, res, maxBodyBytes);
    if (request) void yoga(request, res);
  });
  const wsServer = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: maxBodyBytes });
  useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args) as never,
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args) as never,
      onSubscribe: async (ctx, _id, params) => {
        const enveloped = yoga.getEnveloped({
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          connectionParams: ctx.connectionParams,
          request: { headers: new Headers(ctx.extra.request.headers as Record<string, string>) },
        });
        const document = enveloped.parse(params.query);
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors;
        return {
          schema: enveloped.schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
    },
    wsServer,
  );

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          const address = server.address() as AddressInfo;
          resolve(`http://${host}:${address.port}${yoga.graphqlEndpoint}`);
        });
      }),
    close: async () => {
      for (const client of wsServer.clients) client.terminate();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Enveloped = { execute: (args: unknown) => unknown; subscribe: (args: unknown) => unknown };

/** yoga logs with console-style arguments; debug lines are dropped as its default logger does. */
function lineLogger(log: (line: string) => void) {
  const line = (level: string) => (...args: unknown[]) => log(`${level} ${format(...args)}`);
  return { debug: () => {}, info: line("info"), warn: line("warn"), error: line("error") };
}
