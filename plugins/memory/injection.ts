/**
 * Patterns of text that tries to instruct the model. Text from tools, the
 * web and peers that matches is stored as `suspicious` and not recalled.
 */
const INJECTION_PATTERNS: readonly RegExp[] = [
  /\bignore\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier)\s+(instructions|prompts?|messages|rules)/i,
  /\bdisregard\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier|your)\s+(instructions|prompts?|rules)/i,
  /\bforget\s+(all\s+|everything\s+)?(your|the)\s+(previous\s+)?(instructions|rules)/i,
  /\byou\s+are\s+now\b/i,
  /\bnew\s+instructions\s*:/i,
  /^\s*(system|assistant|user|developer)\s*:/im,
  /<\/?\s*(memory_context|system|instructions?|tool_result)\b/i,
  /\[\/?(INST|SYS)\]/,
  /<\|(im_start|im_end|system|endoftext)\|>/i,
];

/** True when the text looks like an attempt to give the model instructions. */
export function looksLikeInjection(text: string): boolean {
  return INJECTION_PATTERNS.some((pattern) => pattern.test(text));
}
