-- A small sample database for the demo in scripts/setup.sh: plain SQL, as
-- `ditto reseed --dump` accepts it (pg_dump's plain format is the same kind).
CREATE TABLE customer (
    id         bigint PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE orders (
    id          bigint PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customer (id),
    amount      numeric(10, 2) NOT NULL,
    placed_at   timestamptz NOT NULL
);

INSERT INTO customer
SELECT i, 'customer' || i || '@example.com', 'Customer ' || i, now() - i * interval '1 hour'
FROM generate_series(1, 10000) AS i;

INSERT INTO orders
SELECT i, 1 + i % 10000, (i % 500) + 0.99, now() - i * interval '1 minute'
FROM generate_series(1, 50000) AS i;

CREATE INDEX orders_customer_idx ON orders (customer_id);
