// A stand-in for OpenAI, Azure OpenAI and Anthropic in tests and benchmarks; this file is its public API.
//
// It speaks their real wire formats, reports deterministic usage, and takes per-request controls for latency, error
// statuses, mid-stream failures and hangs. The pieces live in ./mock-provider/:
//   behavior.ts          the controls and how a request sets them (model name, JSON field, x-mock-* headers)
//   usage.ts             the token counts and text the mock reports, computable by tests
//   server.ts            startMockProvider: routing, validation, recording, then the controls
//   exchange.ts          a request in flight, what is recorded about it, and the basic ways to answer it
//   respond.ts           the answer per endpoint; stream.ts writes streamed ones (delays, failures, backpressure)
//   openai-frames.ts, anthropic-frames.ts   each provider's bodies, SSE frames and errors
export { DEFAULT_MOCK_BEHAVIOR, type FailMode, type MockBehavior, resolveBehavior } from "./mock-provider/behavior.ts";
export type { MockEndpoint, MockLiveStats, MockProviderStats, RecordedRequest } from "./mock-provider/exchange.ts";
export { type MockProvider, type MockProviderOptions, STATS_PATH, startMockProvider } from "./mock-provider/server.ts";
export { MOCK_CHUNK_TEXT, type MockUsage, mockChunksIn, mockCompletionText, mockInputTokens, mockOutputTokens, mockUsage } from "./mock-provider/usage.ts";
