import Foundation

/// The server's tables in PostgreSQL: the same rows and the same rules as `SQLiteSyncStorage`
/// (events append-only but for an authorised purge, coverage only grows, pins never change),
/// enforced by the database itself, so a second server instance or a stray `psql` cannot break them.
/// Identifiers are `COLLATE "C"`: byte order, as the laptops and the SQLite backend compare them.
enum PostgresSchema {
    /// Applied in order, each once, under an advisory lock (two instances may start together).
    static let migrations: [(name: String, sql: String)] = [("v1-fieldlog-0.4", v1), ("v2-page-index", v2), ("v3-page-packed", v3),
                                                                    ("v4-exchange-in-few-statements", v4)]

    /// The statements of `sql` one by one (the extended protocol runs one at a time): split at
    /// each `;` that ends a line outside a `$$` function body.
    static func statements(_ sql: String) -> [String] {
        var out = [String](), current = "", inBody = false
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("--") && current.isEmpty { continue }
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { inBody.toggle() }
            if !inBody && line.hasSuffix(";") {
                out.append(current)
                current = ""
            }
        }
        if !current.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { out.append(current) }
        return out
    }

    /// Advisory lock keys (the two-integer form; the first integer names what is locked).
    enum Lock {
        static let migrations: Int32 = 0x666C_0001
        /// Shared by every push, exclusive for a push that carries purges: a purge never
        /// interleaves with the events it names (erasure.md §3). Second key: the partnership's schema.
        static let purges: Int32 = 0x666C_0002
        /// One origin's pushes in turn (second key: `hashtext(schema/origin)`), so runs close exactly.
        static let origin: Int32 = 0x666C_0003

        /// Takes the lock of the origin named by `column` (an SQL expression), in this
        /// partnership's schema, until the transaction ends.
        static func takeOrigin(_ column: String) -> String {
            "pg_advisory_xact_lock(\(origin), hashtext(current_schema() || '/' || \(column)))"
        }
    }

    static let v1 = #"""
        CREATE TABLE events (
            id          TEXT COLLATE "C" PRIMARY KEY CHECK (length(id) = 64),
            origin      TEXT COLLATE "C" NOT NULL CHECK (length(origin) = 16),
            seq         BIGINT NOT NULL CHECK (seq >= 1),
            org         TEXT NOT NULL CHECK (org <> ''),
            scope       TEXT NOT NULL CHECK (scope <> ''),
            ctx         TEXT NOT NULL,
            recorded_at BIGINT NOT NULL,
            key_id      TEXT NOT NULL,
            payload     BYTEA NOT NULL,
            sig         BYTEA NOT NULL CHECK (length(sig) = 64),
            prev        TEXT COLLATE "C" CHECK (prev IS NULL OR length(prev) = 64),
            -- Once purged (Protocol/erasure.md) payload holds the 32-byte SHA-256 the id commits to.
            purged      BOOLEAN NOT NULL DEFAULT false CHECK (NOT purged OR length(payload) = 32),
            UNIQUE (origin, seq)
        );

        CREATE TABLE purges (
            id  TEXT COLLATE "C" NOT NULL CHECK (length(id) = 64),
            org TEXT NOT NULL,
            by  TEXT COLLATE "C" NOT NULL CHECK (length(by) = 64),
            PRIMARY KEY (id, org)
        );

        CREATE TABLE coverage (
            origin TEXT COLLATE "C" PRIMARY KEY CHECK (length(origin) = 16),
            seq    BIGINT NOT NULL CHECK (seq >= 0)
        );

        CREATE FUNCTION fieldlog_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation'; END $$;

        -- The only UPDATE allowed on events: an authorised purge, which replaces the payload by
        -- its digest and changes nothing else.
        CREATE FUNCTION fieldlog_events_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT OLD.purged AND NEW.purged AND length(NEW.payload) = 32 AND NEW.payload = sha256(OLD.payload)
               AND NEW.id = OLD.id AND NEW.origin = OLD.origin AND NEW.seq = OLD.seq AND NEW.org = OLD.org
               AND NEW.scope = OLD.scope AND NEW.ctx = OLD.ctx AND NEW.recorded_at = OLD.recorded_at
               AND NEW.key_id = OLD.key_id AND NEW.sig = OLD.sig AND NEW.prev IS NOT DISTINCT FROM OLD.prev
               AND EXISTS (SELECT 1 FROM purges p WHERE p.id = OLD.id AND p.org = OLD.org) THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'fieldlog events are append-only: only an authorised purge may rewrite one' USING ERRCODE = 'restrict_violation';
        END $$;
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION fieldlog_events_update();
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events FOR EACH ROW
            EXECUTE FUNCTION fieldlog_refuse('fieldlog events are append-only: DELETE is refused');
        CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT
            EXECUTE FUNCTION fieldlog_refuse('fieldlog events are append-only: TRUNCATE is refused');
        CREATE TRIGGER purges_no_change BEFORE UPDATE OR DELETE ON purges FOR EACH ROW
            EXECUTE FUNCTION fieldlog_refuse('a purge is never undone');
        CREATE TRIGGER purges_no_truncate BEFORE TRUNCATE ON purges FOR EACH STATEMENT
            EXECUTE FUNCTION fieldlog_refuse('a purge is never undone');
        CREATE TRIGGER coverage_only_grows BEFORE UPDATE ON coverage FOR EACH ROW WHEN (NEW.seq < OLD.seq)
            EXECUTE FUNCTION fieldlog_refuse('a version vector never goes back');
        CREATE TRIGGER coverage_no_delete BEFORE DELETE ON coverage FOR EACH ROW
            EXECUTE FUNCTION fieldlog_refuse('a version vector never goes back');
        CREATE TRIGGER coverage_no_truncate BEFORE TRUNCATE ON coverage FOR EACH STATEMENT
            EXECUTE FUNCTION fieldlog_refuse('a version vector never goes back');

        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE certificates (
            fingerprint TEXT COLLATE "C" PRIMARY KEY CHECK (length(fingerprint) = 32), org TEXT NOT NULL,
            replica TEXT NOT NULL, role TEXT NOT NULL, cert TEXT NOT NULL
        );
        CREATE TABLE pins (org TEXT PRIMARY KEY, fingerprint TEXT NOT NULL);
        CREATE TRIGGER pins_never_change BEFORE UPDATE OR DELETE ON pins FOR EACH ROW
            EXECUTE FUNCTION fieldlog_refuse('a pinned root never changes');
        CREATE TABLE quarantine (id TEXT COLLATE "C" PRIMARY KEY, at BIGINT NOT NULL);

        CREATE TABLE organisations (name TEXT PRIMARY KEY, created_at BIGINT NOT NULL);
        CREATE TABLE enrolments (
            token_hash TEXT PRIMARY KEY, org TEXT NOT NULL REFERENCES organisations(name),
            expires_at BIGINT NOT NULL, used_at BIGINT, device_id TEXT
        );
        CREATE TABLE devices (
            id TEXT PRIMARY KEY, org TEXT NOT NULL REFERENCES organisations(name), name TEXT NOT NULL,
            replica TEXT COLLATE "C" NOT NULL UNIQUE, token_hash TEXT NOT NULL UNIQUE, enrolled_at BIGINT NOT NULL,
            last_sync_at BIGINT, revoked_at BIGINT, revoked_after BIGINT,
            next_token_hash TEXT UNIQUE, next_token_expires_at BIGINT, token_expires_at BIGINT, token_lifetime BIGINT
        );
        CREATE TABLE restore_hold (org TEXT PRIMARY KEY, since BIGINT NOT NULL);

        -- One page for a device of p_org (Protocol/sync-model.md): origins in the order given,
        -- each from after its lo up to its hi, what the organisation is entitled to, never a
        -- quarantined event; one row more than p_limit marks where the page was cut.
        CREATE FUNCTION fieldlog_page(p_org text, p_origins text[], p_lo bigint[], p_hi bigint[], p_limit int)
        RETURNS TABLE (id text, origin text, seq bigint, org text, scope text, ctx text, recorded_at bigint,
                       key_id text, payload bytea, sig bytea, prev text, purged boolean)
        LANGUAGE plpgsql STABLE AS $$
        #variable_conflict use_column
        DECLARE
            budget int := p_limit + 1;
            n int;
        BEGIN
            FOR i IN 1 .. coalesce(array_length(p_origins, 1), 0) LOOP
                EXIT WHEN budget <= 0;
                RETURN QUERY
                    SELECT e.id, e.origin, e.seq, e.org, e.scope, e.ctx, e.recorded_at, e.key_id, e.payload, e.sig, e.prev, e.purged
                    FROM events e
                    WHERE e.origin = p_origins[i] AND e.seq > p_lo[i] AND e.seq <= p_hi[i]
                      AND (e.org = p_org OR e.scope IN ('partnership', 'public'))
                      AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.id = e.id)
                    ORDER BY e.seq LIMIT budget;
                GET DIAGNOSTICS n = ROW_COUNT;
                budget := budget - n;
            END LOOP;
        END $$;
        """#
}
