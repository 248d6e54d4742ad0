-- Knowing the miner: borrowers, their sites and fleets, the ASIC catalogue, and the effective-dated
-- table of areas where mining is banned. See docs/ARCHITECTURE.md, "Knowing the miner".

CREATE TABLE borrowers (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The reference users.borrower_id and ledger subledger keys use, e.g. 'B-1'.
  ref           text NOT NULL UNIQUE CHECK (ref ~ '^[A-Za-z0-9._-]{1,64}$'),
  kind          text NOT NULL CHECK (kind IN ('company', 'entrepreneur', 'individual')),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
  inn           text NOT NULL UNIQUE,
  ogrn          text,
  kpp           text,
  region_code   text NOT NULL CHECK (region_code ~ '^[0-9]{2}$'),
  address       text NOT NULL CHECK (length(address) BETWEEN 1 AND 500),
  bik           text,
  account       text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  created_by    bigint NOT NULL REFERENCES users (id),
  -- Identifiers are validated in the application (check digits); the shapes are checked here too.
  CHECK ((kind = 'company') = (length(inn) = 10)),
  CHECK (kind = 'individual' OR ogrn IS NOT NULL),
  CHECK (ogrn IS NULL OR (kind = 'company' AND length(ogrn) = 13) OR (kind = 'entrepreneur' AND length(ogrn) = 15)),
  CHECK ((kind = 'company') = (kpp IS NOT NULL)),
  CHECK ((bik IS NULL) = (account IS NULL))
);

-- Attestations the borrower makes and who recorded them (no criminal record of the kinds the law
-- names, BTC owned, no tax debt). Appended, never edited: a new attestation supersedes.
CREATE TABLE borrower_attestations (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id bigint NOT NULL REFERENCES borrowers (id),
  kind        text NOT NULL CHECK (kind IN ('no_economic_crime_record', 'owns_pledged_btc', 'no_tax_debt')),
  value       boolean NOT NULL,
  document    text,
  recorded_by bigint NOT NULL REFERENCES users (id),
  recorded_at timestamptz NOT NULL DEFAULT now()
);

-- The ASIC catalogue: data an admin extends. Hashrate in GH/s and power in W, nameplate (+-5%).
CREATE TABLE asic_models (
  model         text PRIMARY KEY CHECK (length(model) BETWEEN 2 AND 100),
  maker         text NOT NULL,
  hashrate_ghs  bigint NOT NULL CHECK (hashrate_ghs > 0),
  power_watts   integer NOT NULL CHECK (power_watts > 0),
  released      text CHECK (released ~ '^[0-9]{4}(-[0-9]{2})?$'),
  source        text NOT NULL
);

INSERT INTO asic_models (model, maker, hashrate_ghs, power_watts, released, source) VALUES
  ('Antminer S19 Pro',     'Bitmain',    110000, 3250, '2020-02', 'BRIEF.md section 4 (nameplate)'),
  ('Antminer S19 XP',      'Bitmain',    140000, 3010, NULL,      'BRIEF.md section 4 (nameplate)'),
  ('Antminer S21',         'Bitmain',    200000, 3500, NULL,      'BRIEF.md section 4 (nameplate)'),
  ('Antminer S21 Pro',     'Bitmain',    234000, 3531, NULL,      'BRIEF.md section 4 (nameplate)'),
  ('Antminer S21 XP',      'Bitmain',    270000, 3645, NULL,      'BRIEF.md section 4 (nameplate)'),
  ('Antminer S21+ Hydro',  'Bitmain',    319000, 4785, NULL,      'BRIEF.md section 4 (nameplate)'),
  ('Antminer S21 XP Hydro','Bitmain',    473000, 5676, NULL,      'BRIEF.md section 4 (nameplate)'),
  ('Whatsminer M50S',      'MicroBT',    126000, 3276, NULL,      'BRIEF.md section 4 (nameplate)'),
  ('Whatsminer M60S',      'MicroBT',    186000, 3430, NULL,      'BRIEF.md section 4 (nameplate)'),
  ('Whatsminer M66S',      'MicroBT',    298000, 5348, NULL,      'BRIEF.md section 4 (nameplate)');

CREATE TABLE mining_sites (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  borrower_id   bigint NOT NULL REFERENCES borrowers (id),
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  region_code   text NOT NULL CHECK (region_code ~ '^[0-9]{2}$'),
  municipality  text NOT NULL CHECK (length(municipality) BETWEEN 1 AND 200),
  -- Own power, or a hosting operator (who reports each client's machines to the FNS).
  power_source  text NOT NULL CHECK (power_source IN ('own', 'hosting')),
  hosting_operator text,
  capacity_kw   integer NOT NULL CHECK (capacity_kw > 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((power_source = 'hosting') = (hosting_operator IS NOT NULL))
);

-- Tariffs are effective-dated: a new row from a date, never an edit.
CREATE TABLE site_tariffs (
  site_id        bigint NOT NULL REFERENCES mining_sites (id),
  effective_from date NOT NULL,
  -- RUB per kWh as an exact decimal (numeric), e.g. 5.3000.
  rub_per_kwh    numeric(10, 4) NOT NULL CHECK (rub_per_kwh > 0),
  PRIMARY KEY (site_id, effective_from)
);

CREATE TABLE site_machines (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  site_id     bigint NOT NULL REFERENCES mining_sites (id),
  model       text NOT NULL REFERENCES asic_models (model),
  count       integer NOT NULL CHECK (count > 0 AND count <= 100000),
  -- Serial numbers of machines pledged as collateral (empty when none is pledged).
  serials     text[] NOT NULL DEFAULT '{}',
  installed_on date,
  CHECK (cardinality(serials) <= count)
);

-- Areas where mining is banned, as the government decrees them: the whole region or named
-- municipalities, year-round or in a season that may span New Year, from and to a date. Only what
-- ../shared/BRIEF.md states is seeded; compliance officers enter the municipalities the decrees name.
CREATE TABLE mining_bans (
  id             text PRIMARY KEY,
  region_code    text NOT NULL CHECK (region_code ~ '^[0-9]{2}$'),
  municipalities text[],
  kind           text NOT NULL CHECK (kind IN ('year_round', 'seasonal')),
  season_start   text CHECK (season_start ~ '^[0-9]{2}-[0-9]{2}$'),
  season_end     text CHECK (season_end ~ '^[0-9]{2}-[0-9]{2}$'),
  effective_from date NOT NULL,
  effective_to   date,
  legal_basis    text NOT NULL,
  CHECK ((kind = 'seasonal') = (season_start IS NOT NULL AND season_end IS NOT NULL))
);

-- Year-round, 1 January 2025 to 15 March 2031: Dagestan (05), Ingushetia (06), Kabardino-Balkaria
-- (07), Karachay-Cherkessia (09), North Ossetia (15), Chechnya (20), and the Donetsk (93), Luhansk
-- (94), Zaporozhye (90) and Kherson (95) regions (region codes as the FNS assigns them).
INSERT INTO mining_bans (id, region_code, municipalities, kind, effective_from, effective_to, legal_basis)
  SELECT 'year-round-' || code, code, NULL, 'year_round', DATE '2025-01-01', DATE '2031-03-15',
         'Government decree of 23.12.2024 under 221-FZ (banned regions)'
    FROM unnest(ARRAY['05', '06', '07', '09', '15', '20', '93', '94', '90', '95']) AS code;
