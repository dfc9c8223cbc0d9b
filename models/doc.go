// Package models owns Stratus' data: the gorm models, the versioned schema
// migrations, and the intents — operations such as CreateProject or
// AssignRole that check input, policy-independent invariants and state, and
// write the desired state (plus any job that makes it real) in one
// transaction. Every query that touches tenant data takes the caller's
// project as an argument.
//
// Handlers and workers call models; models imports neither.
package models
