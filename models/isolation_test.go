package models_test

import (
	"context"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// The queue's locking reads must not take gap locks (see readCommitted).
func TestMySQLSessionsUseReadCommitted(t *testing.T) {
	for _, e := range storetest.Engines() {
		if e != storetest.MySQL {
			continue
		}
		s := storetest.New(t, e)
		var level string
		if err := models.RawScalar(context.Background(), s, "SELECT @@tx_isolation", &level); err != nil {
			if err := models.RawScalar(context.Background(), s, "SELECT @@transaction_isolation", &level); err != nil {
				t.Fatal(err)
			}
		}
		if level != "READ-COMMITTED" {
			t.Fatalf("isolation %q, want READ-COMMITTED", level)
		}
	}
}
