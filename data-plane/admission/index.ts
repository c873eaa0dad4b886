// Admission control: rate limits and budget reservations, shared through Redis or kept in process.
export { createAdmissionRedis } from "./admission-redis.ts";
export { createMemoryAdmission } from "./memory-admission.ts";
export { createRedisAdmission, type DegradedKind, type FailMode, type RedisAdmissionOptions } from "./redis-admission.ts";
