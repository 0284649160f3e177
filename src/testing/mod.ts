/**
 * Test helpers shared by the kernel's, the plugins' and the integration
 * tests (`@synth/testing`).
 *
 * @module
 */
export { runCli } from "../cli/main.ts";
export { createTestCliIo, EMPTY_DIR, type TestCliIo, type TestCliIoOptions } from "./cli_io.ts";
export { FakeClock, type FakeClockOptions } from "./fake_clock.ts";
export { createMemoryLogger, type MemoryLogger, type MemoryLoggerOptions } from "./memory_log.ts";
export { makeTestDir, REPO_DIR, TEST_DATA_ROOT } from "./paths.ts";
export {
  type SpawnedServer,
  spawnServer,
  type SpawnServerOptions,
  startTaskArgs,
} from "./spawn_server.ts";
export { withTempStore } from "./temp_store.ts";
export { scriptedEmbedder, type ScriptedEmbedderOptions } from "./scripted_embedder.ts";
export { createTestHost, type CreateTestHostOptions, type TestHost } from "./test_host.ts";
export { loadProfile } from "../mind/profile.ts";
export { seededRandom } from "../random.ts";
export { type InvokeOptions, invokeTool } from "../tools/invoke.ts";
export { toolsConfig } from "../tools/config.ts";
export { SandboxPool } from "../sandbox/host.ts";
