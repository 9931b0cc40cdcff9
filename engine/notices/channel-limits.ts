/**
 * What a channel can carry, as a fact about the channel that two sides need: the push channel refuses a
 * larger notice at send (channels/push/web-push.ts), and the rule language refuses to publish templates
 * that could render larger (engine/rule-language/template-checks.ts), so no push of a published rule fails for size.
 */

// RFC 8291 section 4: push services need only accept 4096-octet bodies; with a
// single aes128gcm record that leaves 4096 - 86 (header) - 17 (pad + tag).
export const MAX_PLAINTEXT_BYTES = 3993;
