package models

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// ErrUnavailable is the database not answering: the server is down,
// restarting, unreachable or out of connections. It is not the caller's
// fault and not a bug: the adapters answer 503 with Retry-After, and the
// same request succeeds once the database is back.
var ErrUnavailable = errors.New("database unavailable")

// Unavailable reports whether err means the database could not be reached
// (ErrUnavailable, or what the drivers return when it cannot: a refused or
// reset connection, a dead connection the pool gave up on, a server that is
// shutting down or has no connection left, a closed pool). Other errors —
// a bad query, a constraint — are not.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1040, // ER_CON_COUNT_ERROR: too many connections
			1053, // ER_SERVER_SHUTDOWN
			1927: // MariaDB's ER_CONNECTION_KILLED
			return true
		}
	}
	// database/sql does not export the error of a closed pool.
	return strings.Contains(err.Error(), "sql: database is closed")
}
