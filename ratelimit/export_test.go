package ratelimit

// TestPolicy is the policy of this package's tests, for the external tests
// that check the replica and the engine agree on it.
const TestPolicy = testPolicy
