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

    /// A page read from the index (issue 12): its rows without their payloads, so that the
    /// server reads whole only the rows whose bytes it does not keep; one row per origin, its
    /// events' ids, seqs and purged flags as arrays in seq order (thousands of rows cost more
    /// to send and decode than PostgreSQL took to find them). `fieldlog_page` goes.
    static let v2 = #"""
        CREATE FUNCTION fieldlog_page_index(p_org text, p_origins text[], p_lo bigint[], p_hi bigint[], p_limit int)
        RETURNS TABLE (origin text, ids text[], seqs bigint[], purged boolean[])
        LANGUAGE plpgsql STABLE AS $$
        #variable_conflict use_column
        DECLARE
            budget int := p_limit + 1;
            span bigint := 0;
        BEGIN
            FOR i IN 1 .. coalesce(array_length(p_origins, 1), 0) LOOP
                span := span + (p_hi[i] - p_lo[i]);
            END LOOP;
            IF span <= budget THEN
                -- Everything the page may hold fits: one query for all origins (a crowd's evening:
                -- many origins with a few events each, where one query per origin cost the most).
                RETURN QUERY
                    SELECT w.origin, array_agg(e.id ORDER BY e.seq), array_agg(e.seq ORDER BY e.seq), array_agg(e.purged ORDER BY e.seq)
                    FROM unnest(p_origins, p_lo, p_hi) WITH ORDINALITY AS w(origin, lo, hi, n)
                    JOIN events e ON e.origin = w.origin AND e.seq > w.lo AND e.seq <= w.hi
                    WHERE (e.org = p_org OR e.scope IN ('partnership', 'public'))
                      AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.id = e.id)
                    GROUP BY w.n, w.origin ORDER BY w.n;
                RETURN;
            END IF;
            FOR i IN 1 .. coalesce(array_length(p_origins, 1), 0) LOOP
                EXIT WHEN budget <= 0;
                SELECT array_agg(e.id ORDER BY e.seq), array_agg(e.seq ORDER BY e.seq), array_agg(e.purged ORDER BY e.seq)
                INTO ids, seqs, purged
                FROM (SELECT e.id, e.seq, e.purged FROM events e
                      WHERE e.origin = p_origins[i] AND e.seq > p_lo[i] AND e.seq <= p_hi[i]
                        AND (e.org = p_org OR e.scope IN ('partnership', 'public'))
                        AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.id = e.id)
                      ORDER BY e.seq LIMIT budget) e;
                IF ids IS NOT NULL THEN
                    origin := p_origins[i];
                    RETURN NEXT;
                    budget := budget - array_length(ids, 1);
                END IF;
            END LOOP;
        END $$;
        DROP FUNCTION fieldlog_page(text, text[], bigint[], bigint[], int);
        """#

    /// A page's index packed (issue 12, the crowd on PostgreSQL: `fieldlog_page_index` was
    /// nine tenths of the database's time, most of it sorting each origin's events three times,
    /// probing the quarantine once per event and sending 64-character ids as text arrays).
    /// `fieldlog_page_ids` returns one row per origin: its events as 41-byte records (the id's
    /// 32 bytes, the seq as 8 bytes big-endian, 1 if purged) in no promised order, which the
    /// server sorts by seq and checks (an origin may come in several rows, in seq order); the
    /// quarantine is read once, not probed per event.
    /// `fieldlog_page_index` stays for instances of the version before (a rolling upgrade);
    /// a later migration drops it.
    static let v3 = #"""
        CREATE FUNCTION fieldlog_page_ids(p_org text, p_origins text[], p_lo bigint[], p_hi bigint[], p_limit int)
        RETURNS TABLE (origin text, packed bytea)
        LANGUAGE plpgsql STABLE AS $$
        #variable_conflict use_column
        DECLARE
            budget int := p_limit + 1;
            span bigint := 0;
            held text[];
            n int;
            lo bigint;
            hi bigint;
        BEGIN
            SELECT coalesce(array_agg(q.id), '{}') INTO held FROM quarantine q;
            FOR i IN 1 .. coalesce(array_length(p_origins, 1), 0) LOOP
                span := span + (p_hi[i] - p_lo[i]);
            END LOOP;
            IF span <= budget THEN
                -- Everything the page may hold fits: one query for all origins.
                RETURN QUERY
                    SELECT p_origins[w.n::int], string_agg(decode(e.id, 'hex') || int8send(e.seq)
                                                           || CASE WHEN e.purged THEN '\x01'::bytea ELSE '\x00'::bytea END, ''::bytea)
                    FROM unnest(p_origins, p_lo, p_hi) WITH ORDINALITY AS w(origin, lo, hi, n)
                    JOIN events e ON e.origin = w.origin AND e.seq > w.lo AND e.seq <= w.hi
                    WHERE (e.org = p_org OR e.scope IN ('partnership', 'public')) AND e.id <> ALL (held)
                    GROUP BY w.n ORDER BY w.n;
                RETURN;
            END IF;
            -- Origin by origin, in windows of at most `budget` seqs: never more rows than the page
            -- can take, whatever the planner believes of the table (a `LIMIT` over the whole
            -- range read all of a just-filled origin's rows and sorted them, in a first sync).
            FOR i IN 1 .. coalesce(array_length(p_origins, 1), 0) LOOP
                EXIT WHEN budget <= 0;
                lo := p_lo[i];
                WHILE budget > 0 AND lo < p_hi[i] LOOP
                    hi := least(p_hi[i], lo + budget);
                    SELECT string_agg(decode(e.id, 'hex') || int8send(e.seq) || CASE WHEN e.purged THEN '\x01'::bytea ELSE '\x00'::bytea END, ''::bytea),
                           count(*)
                    INTO packed, n
                    FROM events e
                    WHERE e.origin = p_origins[i] AND e.seq > lo AND e.seq <= hi
                      AND (e.org = p_org OR e.scope IN ('partnership', 'public')) AND e.id <> ALL (held);
                    IF n > 0 THEN
                        origin := p_origins[i];
                        RETURN NEXT;
                        budget := budget - n;
                    END IF;
                    lo := hi;
                END LOOP;
            END LOOP;
        END $$;

        -- A push's locks and its lookup in one statement: the purges lock (exclusive for a
        -- push that carries purges, shared for every other), then each origin's, in the order
        -- given (sorted by the caller), then the purges held that name any of p_ids (volatile:
        -- read after the locks are held, so a purge committed before is seen). With p_device,
        -- that device's last sync is written in the same transaction, after the locks (as a
        -- revocation takes them: the origin's, then the device's row; never the other way round).
        CREATE FUNCTION fieldlog_push_begin(p_exclusive boolean, p_origins text[], p_ids text[], p_device text, p_at bigint)
        RETURNS TABLE (id text, org text)
        LANGUAGE plpgsql VOLATILE AS $$
        #variable_conflict use_column
        BEGIN
            IF p_exclusive THEN
                PERFORM pg_advisory_xact_lock(\#(Lock.purges), hashtext(current_schema()));
            ELSE
                PERFORM pg_advisory_xact_lock_shared(\#(Lock.purges), hashtext(current_schema()));
            END IF;
            FOR i IN 1 .. coalesce(array_length(p_origins, 1), 0) LOOP
                PERFORM \#(Lock.takeOrigin("p_origins[i]"));
            END LOOP;
            IF p_device IS NOT NULL THEN
                UPDATE devices SET last_sync_at = p_at WHERE devices.id = p_device;
            END IF;
            RETURN QUERY SELECT p.id, p.org FROM purges p WHERE p.id = ANY (p_ids);
        END $$;

        -- What never changes about the events at some dots (`DotFacts`, an instance's memory of
        -- them): one row per origin, its events as records of the id's 32 bytes, the seq (8
        -- bytes big-endian), 1 if the scope is shared (partnership or public) else 0, the org's
        -- length (2 bytes) and its UTF-8; every event in the ranges, entitled or not.
        CREATE FUNCTION fieldlog_dot_facts(p_origins text[], p_lo bigint[], p_hi bigint[])
        RETURNS TABLE (origin text, packed bytea)
        LANGUAGE sql STABLE AS $$
            SELECT p_origins[w.n::int], string_agg(decode(e.id, 'hex') || int8send(e.seq)
                                                   || CASE WHEN e.scope IN ('partnership', 'public') THEN '\x01'::bytea ELSE '\x00'::bytea END
                                                   || int2send(octet_length(e.org)::int2) || convert_to(e.org, 'UTF8'), ''::bytea)
            FROM unnest(p_origins, p_lo, p_hi) WITH ORDINALITY AS w(origin, lo, hi, n)
            JOIN events e ON e.origin = w.origin AND e.seq > w.lo AND e.seq <= w.hi
            GROUP BY w.n ORDER BY w.n
        $$;

        -- What may change about the events at some dots: those purged and those quarantined, each
        -- found through a small index, so a page built from `DotFacts` costs the database the
        -- exceptions, not the events.
        CREATE INDEX events_purged_dots ON events (origin, seq) WHERE purged;
        CREATE FUNCTION fieldlog_dot_changes(p_origins text[], p_lo bigint[], p_hi bigint[])
        RETURNS TABLE (origin text, seq bigint, quarantined boolean)
        LANGUAGE sql STABLE AS $$
            SELECT e.origin, e.seq, false
            FROM unnest(p_origins, p_lo, p_hi) AS w(origin, lo, hi)
            JOIN events e ON e.origin = w.origin AND e.seq > w.lo AND e.seq <= w.hi AND e.purged
            UNION ALL
            SELECT e.origin, e.seq, true
            FROM quarantine q JOIN events e ON e.id = q.id
            JOIN unnest(p_origins, p_lo, p_hi) AS w(origin, lo, hi) ON e.origin = w.origin AND e.seq > w.lo AND e.seq <= w.hi
        $$;
        """#

    /// An exchange in few statements (issue 12, session 23: in a crowd on 2 cores each
    /// statement cost the server's client and the database more than its work, and planning the
    /// inlined `fieldlog_dot_changes` and the coverage's window query was a third of the
    /// database's time). `fieldlog_push` is a push with no purge in it, whole, in one statement
    /// (its own transaction); `fieldlog_page_begin` is a page's vector and the dots purged or
    /// quarantined above the caller's vector, in one snapshot. `fieldlog_push_begin` and
    /// `fieldlog_dot_changes` stay: a push carrying purges and a page read in a snapshot use them
    /// (and instances of the version before, in a rolling upgrade).
    static let v4 = #"""
        -- A push that carries no purge, in one statement: the shared purges lock and each
        -- origin's (as fieldlog_push_begin); then, if any purge held names a pushed id, those
        -- purges are returned as ('named', id, org) and nothing is written (the server then runs
        -- the push in a transaction of its own, which decides what is stored purged). Otherwise
        -- the device's last sync (p_device), the rows (a dot already held inserts nothing), a
        -- fork refused (SQLSTATE FLFRK, message "ORIGIN SEQ": the first pushed event whose dot
        -- holds another id; the statement and all it wrote roll back), each origin's coverage
        -- raised over the run now held above it; returns ('inserted', id, NULL) per row inserted.
        CREATE FUNCTION fieldlog_push(p_origins text[], p_device text, p_at bigint,
                                      p_id text[], p_origin text[], p_seq bigint[], p_org text[], p_scope text[], p_ctx text[],
                                      p_recorded_at bigint[], p_key_id text[], p_payload bytea[], p_sig bytea[], p_prev text[])
        RETURNS TABLE (kind text, id text, org text)
        LANGUAGE plpgsql VOLATILE AS $$
        #variable_conflict use_column
        DECLARE
            inserted text[];
            bad record;
            base bigint;
            run bigint;
        BEGIN
            PERFORM pg_advisory_xact_lock_shared(\#(Lock.purges), hashtext(current_schema()));
            FOR i IN 1 .. coalesce(array_length(p_origins, 1), 0) LOOP
                PERFORM \#(Lock.takeOrigin("p_origins[i]"));
            END LOOP;
            RETURN QUERY SELECT 'named'::text, p.id, p.org FROM purges p WHERE p.id = ANY (p_id);
            IF FOUND THEN
                RETURN;
            END IF;
            IF p_device IS NOT NULL THEN
                UPDATE devices SET last_sync_at = p_at WHERE devices.id = p_device;
            END IF;
            WITH ins AS (
                INSERT INTO events(id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, prev, purged)
                SELECT r.id, r.origin, r.seq, r.org, r.scope, r.ctx, r.recorded_at, r.key_id, r.payload, r.sig, NULLIF(r.prev, ''), false
                FROM unnest(p_id, p_origin, p_seq, p_org, p_scope, p_ctx, p_recorded_at, p_key_id, p_payload, p_sig, p_prev)
                     AS r(id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, prev)
                ON CONFLICT DO NOTHING
                RETURNING events.id)
            SELECT coalesce(array_agg(ins.id), '{}') INTO inserted FROM ins;
            IF cardinality(inserted) < cardinality(p_id) THEN
                SELECT r.origin, r.seq INTO bad
                FROM unnest(p_id, p_origin, p_seq) WITH ORDINALITY AS r(id, origin, seq, n)
                JOIN events e ON e.origin = r.origin AND e.seq = r.seq
                WHERE e.id <> r.id ORDER BY r.n LIMIT 1;
                IF FOUND THEN
                    RAISE EXCEPTION USING ERRCODE = 'FLFRK', MESSAGE = bad.origin || ' ' || bad.seq;
                END IF;
            END IF;
            IF cardinality(inserted) > 0 THEN
                FOR i IN 1 .. coalesce(array_length(p_origins, 1), 0) LOOP
                    SELECT c.seq INTO base FROM coverage c WHERE c.origin = p_origins[i];
                    base := coalesce(base, 0);
                    SELECT count(*) INTO run
                    FROM (SELECT e.seq - row_number() OVER (ORDER BY e.seq) AS gap FROM events e WHERE e.origin = p_origins[i] AND e.seq > base) x
                    WHERE x.gap = base;
                    IF run > 0 THEN
                        INSERT INTO coverage(origin, seq) VALUES (p_origins[i], base + run)
                        ON CONFLICT (origin) DO UPDATE SET seq = excluded.seq WHERE excluded.seq > coverage.seq;
                    END IF;
                END LOOP;
            END IF;
            RETURN QUERY SELECT 'inserted'::text, i, NULL::text FROM unnest(inserted) AS i;
        END $$;

        -- A page's reads that need the database, in one snapshot (STABLE: every query of the
        -- function sees the calling statement's): ('coverage', origin, seq) for each origin of
        -- the server's vector, each followed by its dots above the caller's vector (p_origins,
        -- p_seqs) that are purged now, ('purged', origin, seq), found through the small index of
        -- purged dots; then the dots in those ranges quarantined now ('quarantined', origin, seq).
        -- Simple statements, each planned once per connection (a join of the coverage with the
        -- caller's vector was planned anew at each call: a third of the function's time).
        CREATE FUNCTION fieldlog_page_begin(p_origins text[], p_seqs bigint[])
        RETURNS TABLE (kind text, origin text, seq bigint)
        LANGUAGE plpgsql STABLE AS $$
        #variable_conflict use_column
        DECLARE
            o text;
            hi bigint;
            lo bigint;
            quarantined boolean := EXISTS (SELECT 1 FROM quarantine);
        BEGIN
            FOR o, hi IN SELECT c.origin, c.seq FROM coverage c LOOP
                kind := 'coverage'; origin := o; seq := hi;
                RETURN NEXT;
                lo := coalesce(p_seqs[array_position(p_origins, o)], 0);
                IF hi > lo THEN
                    RETURN QUERY SELECT 'purged'::text, o, e.seq FROM events e WHERE e.origin = o AND e.purged AND e.seq > lo AND e.seq <= hi;
                    IF quarantined THEN
                        RETURN QUERY SELECT 'quarantined'::text, o, e.seq FROM quarantine q JOIN events e ON e.id = q.id
                                     WHERE e.origin = o AND e.seq > lo AND e.seq <= hi;
                    END IF;
                END IF;
            END LOOP;
        END $$;
        """#
}
