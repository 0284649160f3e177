/**
 * Validation messages in plain words: zod's own English texts ("Invalid input: expected string,
 * received undefined") become "is required", "must be at most 200", "must be one of: …". Requests,
 * WebSocket frames and the config file say them so.
 *
 * @module
 */
import type { z } from "zod";

/** zod's own English texts, by issue code: only those are reworded (a schema's message stays). */
const ZOD_DEFAULT_TEXT: Readonly<Record<string, RegExp>> = {
  invalid_type: /^Invalid input: expected /,
  too_small: /^Too small: /,
  too_big: /^Too big: /,
  invalid_value: /^Invalid (option|input): expected /,
  invalid_format: /^Invalid /,
  not_multiple_of: /^Invalid number: must be a multiple of /,
  unrecognized_keys: /^Unrecognized keys?: /,
  invalid_union: /^Invalid (input|discriminator value)/,
  invalid_key: /^Invalid key in /,
  invalid_element: /^Invalid element in /,
};

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
};

/** A JSON value as an error names it. */
const named = (value: unknown) => typeof value === "string" ? `"${value}"` : String(value);

/** "must be one of: …" over a list of allowed values. */
const oneOf = (values: readonly unknown[]) =>
  values.length === 1
    ? `must be ${named(values[0])}`
    : `must be one of: ${values.map(named).join(", ")}`;

/**
 * The issue's message in plain words ("is required", "must be at most 200", "must be one of: …")
 * where zod gave its own English text ("Invalid input: expected string, received undefined"); a
 * message a schema wrote itself is kept.
 */
export function plainIssueMessage(issue: z.core.$ZodIssue): string {
  const message = issue.message;
  if (!ZOD_DEFAULT_TEXT[issue.code]?.test(message)) return message;
  switch (issue.code) {
    case "invalid_type":
      if (message.endsWith("received undefined")) return "is required";
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}${
        message.endsWith("received null") ? ", not null" : ""
      }`;
    case "too_small":
    case "too_big": {
      const small = issue.code === "too_small";
      const limit = Number(small ? issue.minimum : issue.maximum);
      const inclusive = issue.inclusive ?? true;
      if (issue.origin === "string" || issue.origin === "array" || issue.origin === "set") {
        if (small && limit === 1 && inclusive) return "must not be empty";
        const unit = issue.origin === "string" ? "character" : "item";
        const bound = inclusive ? limit : small ? limit + 1 : limit - 1;
        return `must have ${small ? "at least" : "at most"} ${bound} ${unit}${
          bound === 1 ? "" : "s"
        }`;
      }
      if (issue.origin === "file") {
        return `must be ${small ? "at least" : "at most"} ${limit} bytes`;
      }
      if (issue.origin === "date") {
        const when = new Date(limit).toISOString();
        return `must be ${small ? "at or after" : "at or before"} ${when}`;
      }
      return inclusive
        ? `must be ${small ? "at least" : "at most"} ${limit}`
        : `must be ${small ? "greater" : "less"} than ${limit}`;
    }
    case "invalid_value":
      return oneOf(issue.values);
    case "invalid_format":
      return issue.format === "starts_with" || issue.format === "ends_with" ||
          issue.format === "includes"
        ? message.replace(/^Invalid string: /, "")
        : issue.format === "regex" && issue.pattern
        ? `must match the pattern ${issue.pattern}`
        : `must be ${FORMAT_NAMES[issue.format] ?? `a valid ${issue.format}`}`;
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}`;
    case "unrecognized_keys":
      return `${issue.keys.length === 1 ? "is not a known field" : "are not known fields"} (${
        issue.keys.map(named).join(", ")
      })`;
    case "invalid_union": {
      const options = (issue as { options?: unknown[] }).options;
      return options?.length ? oneOf(options) : "matches none of the accepted forms";
    }
    case "invalid_key":
      return "has a key of the wrong form";
    case "invalid_element":
      return "has an element of the wrong form";
    default:
      return message;
  }
}
