/**
 * `admin list-users | create-user NAME [--role R] | reset-password NAME`:
 * offline recovery (spec/server.md §3.3, ops.md §5), refused while a server
 * holds the data directory (exit 75). Passwords are read from standard
 * input, never from arguments. Creating an administrator closes first-run
 * setup; a reset reactivates the user, clears their lockout and ends their
 * sessions.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createEventBus } from "../bus.ts";
import { AppError } from "../errors.ts";
import { createIdFactory } from "../ids.ts";
import { systemRandom } from "../random.ts";
import { createAuthService } from "../security/auth.ts";
import { USERNAME_PATTERN, USERNAME_RULE } from "../security/passwords.ts";
import { DATABASE_FILE, openStore } from "../store/store.ts";
import { createLogger } from "../telemetry/logger.ts";
import { lockDataDir, refuseDataDir } from "./exclusive.ts";
import { type CliIo, EXIT } from "./io.ts";
import { loadCliConfig } from "./serve.ts";

const USAGE =
  "usage: synth-mind admin list-users | create-user NAME [--role admin|operator|viewer] | " +
  "reset-password NAME   (the password is read from standard input; create-user makes an " +
  "administrator unless --role says otherwise, as this is the way back in when none can sign in)";

/** Runs `admin …`. */
export async function runAdmin(io: CliIo, args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: true,
      options: {
        role: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    io.stderr(`${(error as Error).message}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (parsed.values.help) {
    io.stdout(`${USAGE}\n`);
    return EXIT.OK;
  }
  const [action, name, ...extra] = parsed.positionals;
  const role = parsed.values.role ?? "admin";
  const known = action === "list-users" ? name === undefined : (
    (action === "create-user" || action === "reset-password") && name !== undefined
  );
  if (!known || extra.length > 0 || !["admin", "operator", "viewer"].includes(role)) {
    io.stderr(`${USAGE}\n`);
    return EXIT.USAGE;
  }
  // An option the action does not read would be ignored without a word.
  if (parsed.values.role !== undefined && action !== "create-user") {
    io.stderr(`--role applies to create-user only (not ${action}).\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  // A name that can never be a username is refused before anything is opened or asked.
  if (action === "create-user" && !USERNAME_PATTERN.test(name!.toLowerCase())) {
    io.stderr(`"${name}" cannot be a username: ${USERNAME_RULE} (names are kept in lower case).\n`);
    return EXIT.USAGE;
  }
  const loaded = loadCliConfig(io, {});
  if (typeof loaded === "number") return loaded;
  const { config } = loaded;
  const dataDir = resolve(io.cwd, config.dataDir);
  // Listing and resetting read users: without a database there are none, and none is made.
  const refused = await refuseDataDir(io, dataDir, { command: `admin ${action}` });
  if (refused !== null) return refused;
  const database = join(dataDir, DATABASE_FILE);
  if (action !== "create-user" && !existsSync(database)) {
    const none = `no database at ${database} yet (the server makes it at its first start, ` +
      `"admin create-user NAME" too)`;
    if (action === "list-users") {
      io.stdout(`No users yet: ${none}.\n`);
      return EXIT.OK;
    }
    io.stderr(`No such user ${name}: ${none}.\n`);
    return EXIT.FAILURE;
  }
  const log = createLogger({ level: "error", clock: io.clock });
  const lock = await lockDataDir(
    io,
    dataDir,
    log,
    "Stop the server first, or use the admin routes of the API.",
    `admin ${action}`,
  );
  if (typeof lock === "number") return lock;
  const store = openStore({
    dataDir,
    busyTimeoutMs: config.db.busyTimeoutMs,
    clock: io.clock,
    log,
    migrate: true,
  });
  try {
    const auth = await createAuthService({
      store,
      clock: io.clock,
      ids: createIdFactory({ clock: io.clock, random: systemRandom }),
      log,
      bus: createEventBus({ clock: io.clock, log }).scoped("kernel"),
      config: config.auth,
      dataDir,
    });
    if (action === "list-users") {
      const users = await auth.listUsers();
      if (users.length === 0) io.stdout("No users yet.\n");
      for (const user of users) {
        io.stdout(
          `${user.username}\t${user.role}\t${user.active ? "active" : "inactive"}\tlast sign-in ${
            user.last_login ?? "never"
          }\n`,
        );
      }
      return EXIT.OK;
    }
    if (action === "reset-password") await auth.getUser(name!); // says "No such user" before asking
    else {
      // A taken name is said before a password is asked for, with the way to change it.
      const taken = await auth.getUser(name!).catch((error) => {
        if (error instanceof AppError && error.code === "USER_NOT_FOUND") return null;
        throw error;
      });
      if (taken) {
        io.stderr(
          `A user named ${taken.username} exists (names are kept in lower case); to give them a ` +
            `new password: deno task admin reset-password ${taken.username}\n`,
        );
        return EXIT.FAILURE;
      }
    }
    const ask = async (prompt: string) => {
      io.stderr(prompt);
      return (await io.readSecret())?.replace(/\r$/, "") ?? "";
    };
    const password = await ask(
      `New password for ${name} (12–128 characters, not shown), then Enter:\n`,
    );
    // Typed unseen, a slip would go unnoticed: a person types it twice.
    if (io.inputIsTerminal) {
      if (await ask("The same password again:\n") !== password) {
        io.stderr("The two passwords differ; nothing was changed.\n");
        return EXIT.FAILURE;
      }
    }
    if (action === "create-user") {
      const user = await auth.createUser({
        username: name!,
        password,
        role: role as "admin" | "operator" | "viewer",
      });
      if (user.role === "admin") await auth.closeSetup();
      // Names are kept in lower case: say so where the one typed differs (sign-in lower-cases too).
      const kept = user.username === name
        ? ""
        : ` — names are kept in lower case: sign in as ${user.username}`;
      io.stdout(`created ${user.username} (${user.role})${kept}\n`);
    } else {
      await auth.setPassword(name!, password);
      await auth.setActive(name!, true);
      auth.clearLockout(name!);
      io.stdout(`password of ${name} reset; their sessions ended and the account is active\n`);
    }
    return EXIT.OK;
  } catch (error) {
    if (error instanceof AppError) {
      io.stderr(`${error.message}${error.field ? ` (${error.field})` : ""}\n`);
      return EXIT.FAILURE;
    }
    throw error;
  } finally {
    await store.close();
    lock.release();
  }
}
