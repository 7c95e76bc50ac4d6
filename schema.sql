-- didgate schema. The whole schema lives in this file, split into numbered
-- steps by `-- version N` lines. The migration runner (crates/sqlite/src/migrate.rs)
-- applies every step above the database's PRAGMA user_version, each in its
-- own transaction, and sets user_version to N. Never edit a step that has
-- shipped; append a new one.
--
-- Conventions: STRICT tables; money as INTEGER hundredths; times as INTEGER
-- seconds since the Unix epoch (UTC); foreign keys are enforced.

-- version 1

-- Accounts form trees. The top-level account (parent_id IS NULL) is the
-- billing account and holds the balance; root_id names it for every member
-- so that tree checks need no recursion.
CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    number        TEXT    NOT NULL UNIQUE
                  CHECK (length(number) = 10 AND number NOT GLOB '*[^0-9]*'),
    name          TEXT    NOT NULL,
    parent_id     INTEGER REFERENCES accounts(id),
    root_id       INTEGER NOT NULL REFERENCES accounts(id),
    forward_type  TEXT    NOT NULL DEFAULT '',
    forward_to    TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    signature_secret TEXT,
    -- Maintained only by the ledger trigger below.
    balance100    INTEGER NOT NULL DEFAULT 0 CHECK (balance100 >= 0),
    created_at    INTEGER NOT NULL,
    deleted_at    INTEGER,
    CHECK (parent_id IS NULL OR balance100 = 0),
    CHECK ((parent_id IS NULL) = (root_id = id))
) STRICT;
CREATE INDEX accounts_parent ON accounts(parent_id);

-- Every change of money is a row here; balance100 of an account is always
-- the sum of its rows (credits positive, charges negative). Rows are never
-- changed or removed.
CREATE TABLE ledger (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    amount100   INTEGER NOT NULL CHECK (amount100 <> 0),
    kind        TEXT    NOT NULL CHECK (kind IN ('credit', 'charge')),
    order_id    INTEGER REFERENCES orders(id),
    key_id      TEXT,
    memo        TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    CHECK ((kind = 'credit') = (amount100 > 0))
) STRICT;
CREATE INDEX ledger_account ON ledger(account_id);

CREATE TRIGGER ledger_applies AFTER INSERT ON ledger BEGIN
    UPDATE accounts SET balance100 = balance100 + NEW.amount100 WHERE id = NEW.account_id;
END;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN
    SELECT RAISE(ABORT, 'ledger rows are immutable');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN
    SELECT RAISE(ABORT, 'ledger rows are immutable');
END;

-- API keys: a public id and an Argon2id hash (PHC string) of the whole key.
CREATE TABLE api_keys (
    id          TEXT    PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    hash        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX api_keys_account ON api_keys(account_id);

CREATE TABLE countries (
    id      TEXT    PRIMARY KEY CHECK (length(id) = 2),
    name    TEXT    NOT NULL,
    is_fax  INTEGER NOT NULL DEFAULT 0 CHECK (is_fax IN (0, 1)),
    is_sms  INTEGER NOT NULL DEFAULT 0 CHECK (is_sms IN (0, 1))
) STRICT, WITHOUT ROWID;

CREATE TABLE states (
    id          TEXT PRIMARY KEY,
    country_id  TEXT NOT NULL REFERENCES countries(id),
    name        TEXT NOT NULL,
    code        TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX states_country ON states(country_id);

-- stock is the number of available numbers, numbers the count of all of
-- them; both are kept by the triggers on dids (and, for inserts, by the
-- inventory import).
CREATE TABLE areas (
    id          TEXT    PRIMARY KEY,
    country_id  TEXT    NOT NULL REFERENCES countries(id),
    state_id    TEXT    REFERENCES states(id),
    name        TEXT    NOT NULL,
    area_code   TEXT    NOT NULL,
    did_type    TEXT    NOT NULL CHECK (did_type IN ('GEOGRAPHIC', 'NATIONAL', 'TOLLFREE', 'MOBILE')),
    stock       INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    -- All numbers of the area, whatever their status; kept by the triggers
    -- on dids. A search snapshot built at another count is stale.
    numbers     INTEGER NOT NULL DEFAULT 0 CHECK (numbers >= 0)
) STRICT, WITHOUT ROWID;
CREATE INDEX areas_country ON areas(country_id, did_type);
CREATE INDEX areas_state ON areas(state_id, did_type);

CREATE TABLE rate_plans (
    id    TEXT PRIMARY KEY,
    name  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- The plans an area offers, with their prices there.
CREATE TABLE area_rate_plans (
    area_id       TEXT    NOT NULL REFERENCES areas(id),
    rate_plan_id  TEXT    NOT NULL REFERENCES rate_plans(id),
    monthly100    INTEGER NOT NULL CHECK (monthly100 >= 0),
    setup100      INTEGER NOT NULL CHECK (setup100 >= 0),
    PRIMARY KEY (area_id, rate_plan_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE orders (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    billing_id    INTEGER NOT NULL REFERENCES accounts(id),
    key_id        TEXT    NOT NULL,
    -- The area ordered from; NULL for orders of a reservation or a list
    -- of numbers, which may span areas.
    area_id       TEXT    REFERENCES areas(id),
    rate_plan_id  TEXT    NOT NULL REFERENCES rate_plans(id),
    quantity      INTEGER NOT NULL CHECK (quantity > 0),
    charged100    INTEGER NOT NULL CHECK (charged100 >= 0),
    created_at    INTEGER NOT NULL
) STRICT;

-- Numbers. An available number has no owner; a reserved one is held by a
-- reservation (and has no owner yet); an active one has an owner; an aging
-- one keeps its last owner until aging_until.
CREATE TABLE dids (
    e164          TEXT    PRIMARY KEY CHECK (length(e164) BETWEEN 7 AND 15 AND e164 NOT GLOB '*[^0-9]*'),
    area_id       TEXT    NOT NULL REFERENCES areas(id),
    status        TEXT    NOT NULL DEFAULT 'available'
                  CHECK (status IN ('available', 'reserved', 'active', 'aging')),
    account_id    INTEGER REFERENCES accounts(id),
    order_id      INTEGER REFERENCES orders(id),
    rate_plan_id  TEXT    NOT NULL DEFAULT '',
    monthly100    INTEGER NOT NULL DEFAULT 0,
    setup100      INTEGER NOT NULL DEFAULT 0,
    title         TEXT    NOT NULL DEFAULT '',
    forward_type  TEXT    NOT NULL DEFAULT '',
    forward_to    TEXT    NOT NULL DEFAULT '',
    sms_url       TEXT    NOT NULL DEFAULT '',
    sms_email     TEXT    NOT NULL DEFAULT '',
    sms_phone     TEXT    NOT NULL DEFAULT '',
    ordered_at    INTEGER,
    aging_until   INTEGER,
    -- Set while the number is held by a reservation (status 'reserved').
    reservation_id TEXT    REFERENCES reservations(id),
    CHECK ((status IN ('available', 'reserved')) = (account_id IS NULL)),
    CHECK ((status = 'reserved') = (reservation_id IS NOT NULL))
) STRICT, WITHOUT ROWID;
-- Ordering takes the lowest available numbers of an area: the range
-- (area_id, 'available') of this index is exactly the stock, in E.164
-- order; the range (area_id) is every number of the area, which the search
-- snapshot is built from.
CREATE INDEX dids_area ON dids(area_id, status, e164);
CREATE INDEX dids_account ON dids(account_id, e164) WHERE account_id IS NOT NULL;

-- Numbers are inserted only by the inventory import, in bulk; a per-row
-- trigger would double its cost, so the import recomputes stock and
-- numbers of the areas it touched, in the same transaction.
CREATE TRIGGER dids_stock_update AFTER UPDATE OF status ON dids
    WHEN (OLD.status = 'available') <> (NEW.status = 'available') BEGIN
    UPDATE areas SET stock = stock + (CASE WHEN NEW.status = 'available' THEN 1 ELSE -1 END)
     WHERE id = NEW.area_id;
END;
CREATE TRIGGER dids_stock_delete AFTER DELETE ON dids BEGIN
    UPDATE areas SET stock = stock - (OLD.status = 'available'), numbers = numbers - 1
     WHERE id = OLD.area_id;
END;
CREATE TRIGGER dids_area_fixed BEFORE UPDATE OF area_id ON dids BEGIN
    SELECT RAISE(ABORT, 'a number cannot change area');
END;

-- Replies of mutating requests that carried a REQUEST_ID, replayed byte for
-- byte on a retry with the same parameters.
CREATE TABLE idempotency (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    request_id   TEXT    NOT NULL,
    fingerprint  BLOB    NOT NULL,
    response     BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, request_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX idempotency_age ON idempotency(created_at);

-- version 2

-- Every change of a number, one row per event (and per changed field for
-- reconfigurations), so an operator can answer "who changed this number's
-- forwarding last Tuesday". Rows are never changed or removed.
CREATE TABLE number_history (
    id          INTEGER PRIMARY KEY,
    e164        TEXT    NOT NULL,
    event       TEXT    NOT NULL CHECK (event IN ('ordered', 'updated', 'canceled', 'restored', 'moved', 'returned')),
    field       TEXT    NOT NULL DEFAULT '',
    old_value   TEXT    NOT NULL DEFAULT '',
    new_value   TEXT    NOT NULL DEFAULT '',
    account_id  INTEGER REFERENCES accounts(id),
    key_id      TEXT,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX number_history_e164 ON number_history(e164, id);

CREATE TRIGGER number_history_no_update BEFORE UPDATE ON number_history BEGIN
    SELECT RAISE(ABORT, 'history rows are immutable');
END;
CREATE TRIGGER number_history_no_delete BEFORE DELETE ON number_history BEGIN
    SELECT RAISE(ABORT, 'history rows are immutable');
END;

-- Listing an account's numbers (DID.LIST) walks this index in E.164 order;
-- with status in it, TOTAL and the status filter need no row lookups.
DROP INDEX dids_account;
CREATE INDEX dids_account ON dids(account_id, e164, status) WHERE account_id IS NOT NULL;

-- Aging numbers are returned to stock by a sweep that looks them up by time.
CREATE INDEX dids_aging ON dids(aging_until) WHERE status = 'aging';

-- version 3

-- Reservations hold numbers for an account tree (a cart) until they expire,
-- are ordered or are canceled. Their numbers have status 'reserved'.
CREATE TABLE reservations (
    id          TEXT    PRIMARY KEY,
    root_id     INTEGER NOT NULL REFERENCES accounts(id),
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    key_id      TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'ordered', 'canceled', 'expired')),
    expires_at  INTEGER NOT NULL,
    order_id    INTEGER REFERENCES orders(id),
    created_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX reservations_open ON reservations(expires_at) WHERE state = 'open';
CREATE INDEX dids_reservation ON dids(reservation_id) WHERE reservation_id IS NOT NULL;

-- version 4
-- 16 bits of each key's SHA-256, checked before Argon2 so that a random
-- wrong key costs a lookup, not a 19 MiB hash (see src/auth.rs). NULL for
-- keys made before: they are always verified with Argon2.
ALTER TABLE api_keys ADD COLUMN tag INTEGER CHECK (tag BETWEEN 0 AND 65535);

-- version 5
-- Idempotency keeps a mutation's typed outcome (serialised by the engine)
-- rather than one front's rendering of it, so a retry through any front is
-- rendered again from the same value. Rows written before keep their bytes
-- in `response` and have no outcome; new rows store an empty `response`.
ALTER TABLE idempotency ADD COLUMN outcome BLOB;
