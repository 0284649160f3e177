/**
 * `cert [--host NAME]… [--days 90] [--force]`: writes a development TLS
 * certificate and key into `<dataDir>/certs/` (the key with mode 0600) and
 * says how to use and trust it.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { refuseDataDir } from "./exclusive.ts";
import { type CliIo, EXIT } from "./io.ts";
import { loadCliConfig } from "./serve.ts";

const USAGE = "usage: synth-mind cert [--host NAME]... [--days 90] [--force]";

/** Runs `cert`. */
export async function runCert(io: CliIo, args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: "string", multiple: true, default: [] },
        days: { type: "string", default: "90" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (values.help) {
    io.stdout(
      `${USAGE}\n\nWrites a self-signed development certificate (ECDSA P-256, not a CA) for localhost, ` +
        "127.0.0.1, ::1 and each --host into <dataDir>/certs/, valid --days days.\n",
    );
    return EXIT.OK;
  }
  if (!/^\d+$/.test(values.days) || Number(values.days) < 1 || Number(values.days) > 825) {
    io.stderr(`--days must be a whole number from 1 to 825\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  const badHost = values.host.find((host) => !/^[A-Za-z0-9.:-]{1,253}$/.test(host));
  if (badHost !== undefined) {
    io.stderr(`--host ${JSON.stringify(badHost)} is not a host name or IP address\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  const loaded = loadCliConfig(io, {});
  if (typeof loaded === "number") return loaded;
  const dataDir = resolve(io.cwd, loaded.config.dataDir);
  const refused = await refuseDataDir(io, dataDir, { command: "cert", permissionSet: "cert" });
  if (refused !== null) return refused;
  const dir = join(dataDir, "certs");
  const certFile = join(dir, "dev.crt");
  const keyFile = join(dir, "dev.key");
  if (!values.force) {
    try {
      await Deno.stat(certFile);
      io.stderr(`${certFile} exists; pass --force to replace it\n`);
      return EXIT.FAILURE;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  // Loaded only here: the X.509 library (and its reflect polyfill) stays out of the server.
  const { createDevCertificate } = await import("../security/cert.ts");
  const made = await createDevCertificate({
    hosts: values.host,
    days: Number(values.days),
    now: new Date(io.clock.now()),
  });
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(keyFile, made.keyPem, { mode: 0o600 });
  await Deno.chmod(keyFile, 0o600);
  await Deno.writeTextFile(certFile, made.certPem, { mode: 0o644 });
  io.stdout(
    `Development certificate (ECDSA P-256, not a CA) for ${made.names.join(", ")}, valid until ${
      made.notAfter.toISOString().slice(0, 10)
    }:\n  ${certFile}\n  ${keyFile}\n\n` +
      `Serve HTTPS with it:\n  SYNTH_TLS_CERT_FILE=${certFile} SYNTH_TLS_KEY_FILE=${keyFile} deno task start\n\n` +
      `Trust it in one client only, e.g. curl --cacert ${certFile} https://localhost:8080/health\n` +
      "It is for development: use a certificate from your CA or ACME in production.\n",
  );
  return EXIT.OK;
}
