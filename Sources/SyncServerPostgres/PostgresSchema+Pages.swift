import Foundation

/// Migrations v2 and v3 (issue 12): a page's index without payloads, then packed, and the
/// functions a crowd's exchanges call (the push's locks and lookup, the facts and changes of
/// recent dots).
extension PostgresSchema {
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
}
