import Foundation

/// Migration v4 (issue 12): an exchange's push and page in few statements.
extension PostgresSchema {
    /// An exchange in few statements (issue 12, session 23: in a crowd on 2 cores each
    /// statement cost the server's client and the database more than its work, and planning the
    /// inlined `fieldlog_dot_changes` and the coverage's window query was a third of the
    /// database's time). `fieldlog_store_rows` is a push's rows stored, forks refused and
    /// coverage raised, for both kinds of push; `fieldlog_push` is a push with no purge in it,
    /// whole, in one statement (its own transaction); `fieldlog_page_begin` is a page's vector
    /// and the dots purged or quarantined above the caller's vector, in one snapshot.
    /// `fieldlog_push_begin` and `fieldlog_dot_changes` stay: a push carrying purges and a page
    /// read in a snapshot use them (and instances of the version before, in a rolling upgrade).
    static let v4 = #"""
        -- A push's rows (the caller holds the locks of p_origins, their distinct origins): a dot
        -- already held inserts nothing; a fork is refused (SQLSTATE FLFRK, message "ORIGIN SEQ":
        -- the first row whose dot holds another id; the statement, and the transaction, fail);
        -- then, if a row was inserted, each origin's coverage is raised over the run of events
        -- now held just above it: those above the coverage whose seq minus their rank equals it.
        -- (One statement with the insert, through a data-modifying WITH, was planned as a scan
        -- of every event: 300 ms a push at 1M held.) Returns the ids inserted.
        CREATE FUNCTION fieldlog_store_rows(p_origins text[], p_id text[], p_origin text[], p_seq bigint[], p_org text[], p_scope text[],
                                            p_ctx text[], p_recorded_at bigint[], p_key_id text[], p_payload bytea[], p_sig bytea[],
                                            p_prev text[], p_purged boolean[])
        RETURNS SETOF text
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            inserted text[];
            bad record;
            base bigint;
            run bigint;
        BEGIN
            WITH ins AS (
                INSERT INTO events(id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, prev, purged)
                SELECT r.id, r.origin, r.seq, r.org, r.scope, r.ctx, r.recorded_at, r.key_id, r.payload, r.sig, NULLIF(r.prev, ''), r.purged
                FROM unnest(p_id, p_origin, p_seq, p_org, p_scope, p_ctx, p_recorded_at, p_key_id, p_payload, p_sig, p_prev, p_purged)
                     AS r(id, origin, seq, org, scope, ctx, recorded_at, key_id, payload, sig, prev, purged)
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
            RETURN QUERY SELECT unnest(inserted);
        END $$;

        -- A push that carries no purge, in one statement: the shared purges lock and each
        -- origin's (as fieldlog_push_begin); then, if any purge held names a pushed id, those
        -- purges are returned as ('named', id, org) and nothing is written (the server then runs
        -- the push in a transaction of its own, which decides what is stored purged). Otherwise
        -- the device's last sync (p_device), then the rows, none purged (fieldlog_store_rows);
        -- returns ('inserted', id, NULL) per row inserted.
        CREATE FUNCTION fieldlog_push(p_origins text[], p_device text, p_at bigint,
                                      p_id text[], p_origin text[], p_seq bigint[], p_org text[], p_scope text[], p_ctx text[],
                                      p_recorded_at bigint[], p_key_id text[], p_payload bytea[], p_sig bytea[], p_prev text[])
        RETURNS TABLE (kind text, id text, org text)
        LANGUAGE plpgsql VOLATILE AS $$
        #variable_conflict use_column
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
            RETURN QUERY SELECT 'inserted'::text, i, NULL::text
                FROM fieldlog_store_rows(p_origins, p_id, p_origin, p_seq, p_org, p_scope, p_ctx, p_recorded_at, p_key_id, p_payload, p_sig, p_prev,
                                         array_fill(false, ARRAY[cardinality(p_id)])) AS i;
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
