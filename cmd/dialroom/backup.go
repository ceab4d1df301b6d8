package main

import (
	"context"
	"fmt"
	"io"

	"dialroom/dialplan"
)

const backupUsage = `dialroom backup FILE [-data DIR] [-config FILE]

Writes a consistent copy of the database (rooms, numbers, PIN hashes) to
FILE while the server keeps running (SQLite VACUUM INTO: one snapshot, no
lock on writers). FILE is replaced atomically and readable only by its
owner. Copy it off the machine; restore it with dialroom restore.
`

const restoreUsage = `dialroom restore FILE [-data DIR] [-config FILE]

Replaces the database with the backup FILE (SQLite online backup API,
under the write lock; a running server sees the restored rooms at once).
FILE is checked first (integrity, schema version); a bad file changes
nothing. A backup from an older version is migrated.
`

func runBackup(args []string, stdout, stderr io.Writer) error {
	return adminCmd{name: "backup", pos: []string{"FILE"}, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if err := s.Backup(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "backup written to %s\n", pos[0])
		return nil
	}}.run(args)
}

func runRestore(args []string, stdout, stderr io.Writer) error {
	return adminCmd{name: "restore", pos: []string{"FILE"}, do: func(ctx context.Context, s *dialplan.Store, pos []string) error {
		if err := s.Restore(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "restored the database from %s\n", pos[0])
		return nil
	}}.run(args)
}
