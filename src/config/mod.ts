/**
 * Configuration: one zod schema built from the kernel's sections and each
 * plugin's, loaded from `synth.config.json(c)`, environment and flags.
 *
 * @module
 */
export {
  type ConfigField,
  type ConfigMeta,
  configMeta,
  envNameOf,
  listConfigFields,
} from "./fields.ts";
export {
  CONFIG_FILE_NAMES,
  ConfigError,
  type ConfigFlags,
  type ConfigIssue,
  type ConfigOrigin,
  deepFreeze,
  loadConfig,
  type LoadConfigOptions,
  type LoadedConfig,
  readFailure,
} from "./load.ts";
export { redactConfig, REDACTED, redactUrlUserInfo } from "./redact.ts";
export {
  buildConfigSchema,
  type ConfigSection,
  KERNEL_CONFIG_SHAPE,
  type KernelConfig,
  RESERVED_SECTIONS,
  type ResolvedConfig,
} from "./schema.ts";
