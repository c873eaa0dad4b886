// Refuses a batch of more than MAX_BATCH_OPERATIONS operations with our own code. Yoga's `batching.limit` (server.ts)
// is set to the same number as a backstop; this runs first, so clients see one stable code.
import type { Plugin } from "graphql-yoga";
import { MAX_BATCH_OPERATIONS } from "./limits.ts";
import { refusal } from "./refusal.ts";

export function batchLimit(): Plugin {
  return {
    onRequestParse: () => ({
      onRequestParseDone({ requestParserResult }) {
        if (Array.isArray(requestParserResult) && requestParserResult.length > MAX_BATCH_OPERATIONS) {
          throw refusal(
            "BATCH_TOO_LARGE",
            `a batch may hold at most ${MAX_BATCH_OPERATIONS} operations, this one has ${requestParserResult.length}`,
            413,
          );
        }
      },
    }),
  };
}
