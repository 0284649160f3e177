/**
 * Validation messages in plain words: zod's own English texts ("Invalid input: expected string,
 * received undefined") become "is required", "must be at most 200", "must be one of: …". Requests,
 * WebSocket frames and the config file say them so.
 *
 * @module
 */
import { z } from "zod";

/** zod's English texts, made again from an issue: what a message no schema wrote reads. */
const ZOD_ENGLISH = z.locales.en().localeError!;

/** zod's text of a wrong type names what it received, which the issue no longer holds. */
const ZOD_TYPE_TEXT = /^Invalid input: expected \S+, received \S+$/;

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  array: "an array",
  object: "an object",
  bigint: "an integer",
  date: "a date",
};

const FORMAT_NAMES: Readonly<Record<string, string>> = {
  datetime: "an RFC 3339 date-time (e.g. 2026-01-31T09:30:00Z)",
  date: "a date (YYYY-MM-DD)",
  email: "an email address",
  url: "a URL",
  uuid: "a UUID",
  lowercase: "in lower case",
  uppercase: "in upper case",
};

/** What a size limit counts, by the origin of the value. */
const UNITS: Readonly<Record<string, string>> = {
  string: "character",
  array: "item",
  set: "item",
  map: "entry",
};

/** A JSON value as an error names it. */
function named(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : String(value);
}

/** "must be one of: …" over a list of allowed values. */
function oneOf(values: readonly unknown[]): string {
  return values.length === 1
    ? `must be ${named(values[0])}`
    : `must be one of: ${values.map(named).join(", ")}`;
}

/** Whether zod wrote the message itself (a schema's own message is kept word for word). */
function zodWrote(issue: z.core.$ZodIssue): boolean {
  if (issue.code === "invalid_type") return ZOD_TYPE_TEXT.test(issue.message);
  try {
    return ZOD_ENGLISH(issue as unknown as Parameters<typeof ZOD_ENGLISH>[0]) === issue.message;
  } catch {
    return false;
  }
}

/** "must have at most 3 items", "must be at least 0", "must have exactly 5 characters". */
function sizeText(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === "too_small";
  const limit = Number(small ? issue.minimum : issue.maximum);
  const inclusive = issue.inclusive ?? true;
  const unit = UNITS[issue.origin];
  if (unit) {
    if (small && limit === 1 && inclusive && !issue.exact) return "must not be empty";
    const bound = inclusive ? limit : small ? limit + 1 : limit - 1;
    const plural = bound === 1 ? unit : unit === "entry" ? "entries" : `${unit}s`;
    const how = issue.exact ? "exactly" : small ? "at least" : "at most";
    return `must have ${how} ${bound} ${plural}`;
  }
  if (issue.origin === "file") return `must be ${small ? "at least" : "at most"} ${limit} bytes`;
  if (issue.origin === "date") {
    return `must be ${small ? "at or after" : "at or before"} ${new Date(limit).toISOString()}`;
  }
  return inclusive
    ? `must be ${small ? "at least" : "at most"} ${limit}`
    : `must be ${small ? "greater" : "less"} than ${limit}`;
}

/** "must be an email address", "must match the pattern /…/", "must start with "ab"". */
function formatText(issue: z.core.$ZodIssueInvalidStringFormat): string {
  if (issue.message.startsWith("Invalid string: ")) {
    return issue.format === "regex" && issue.pattern
      ? `must match the pattern ${issue.pattern}`
      : issue.message.slice("Invalid string: ".length);
  }
  const name = FORMAT_NAMES[issue.format];
  if (name) return `must be ${name}`;
  // zod's "Invalid IPv4 address", "Invalid ISO duration": the noun it names.
  return `must be a valid ${issue.message.replace(/^Invalid /, "")}`;
}

/**
 * The issue's message in plain words ("is required", "must be at most 200", "must be one of: …")
 * where zod gave its own English text ("Invalid input: expected string, received undefined"); a
 * message a schema wrote itself is kept.
 */
export function plainIssueMessage(issue: z.core.$ZodIssue): string {
  if (!zodWrote(issue)) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      if (issue.message.endsWith("received undefined")) return "is required";
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}${
        issue.message.endsWith("received null") ? ", not null" : ""
      }`;
    case "too_small":
    case "too_big":
      return sizeText(issue);
    case "invalid_value":
      return oneOf(issue.values);
    case "invalid_format":
      return formatText(issue);
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "unrecognized_keys":
      return `${issue.keys.length === 1 ? "is not a known field" : "are not known fields"} (${
        issue.keys.map(named).join(", ")
      })`;
    case "invalid_union": {
      const { options, matches } = issue as { options?: unknown[]; matches?: unknown[] };
      if (options?.length) return oneOf(options);
      return matches?.length
        ? "matches more than one of the accepted forms"
        : "matches none of the accepted forms";
    }
    case "invalid_key":
      return "has a key of the wrong form";
    case "invalid_element":
      return "has an element of the wrong form";
    default:
      return issue.message;
  }
}
