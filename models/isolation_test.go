package models_test

import (
	"context"
	"testing"

	"stratus/models"
	"stratus/models/storetest"
)

// The queue's locking reads must not take gap locks (see readCommitted).
func TestMySQLSessionsUseReadCommitted(t *testing.T) {
	s := storetest.New(t, storetest.MySQL) // skips without STRATUS_TEST_MYSQL_DSN
	{
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
