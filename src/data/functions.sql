-- Helper functions for the data templates (README "Data files"). They live in the engineer_sim
-- schema, which the audit ignores, and are pure functions of (run seed, n, salt), so the same
-- seed gives the same rows however the work is split across connections.

-- The run seed. The seed creates these functions on a connection with engineer_sim.seed set and
-- writes the seed into run_seed() as a constant, which the planner folds into every rand() call
-- (reading the setting on each call cost a fifth of the seed's time); a database keeps the seed
-- it was initialised with, so the constant never goes stale. Without the setting (a later schema
-- upgrade), run_seed() is left as it is, or, on a database seeded before it existed, reads the
-- setting, which every data connection sets.
DO $$
BEGIN
  IF coalesce(current_setting('engineer_sim.seed', true), '') <> '' THEN
    EXECUTE format('CREATE OR REPLACE FUNCTION engineer_sim.run_seed() RETURNS bigint '
                   'LANGUAGE sql IMMUTABLE PARALLEL SAFE AS %L',
                   'SELECT ' || current_setting('engineer_sim.seed')::bigint || '::bigint');
  ELSIF to_regprocedure('engineer_sim.run_seed()') IS NULL THEN
    CREATE FUNCTION engineer_sim.run_seed() RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS
      'SELECT coalesce(current_setting(''engineer_sim.seed'', true), ''0'')::bigint';
  END IF;
END
$$;

-- Uniform in [0, 1).
CREATE OR REPLACE FUNCTION engineer_sim.rand(n bigint, salt int) RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT (hashint8extended(n, salt::bigint * 1000003 + engineer_sim.run_seed())
          & 9007199254740991)::double precision / 9007199254740992.0
$$;

-- Uniform integer in [lo, hi].
CREATE OR REPLACE FUNCTION engineer_sim.pick(n bigint, salt int, lo bigint, hi bigint) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT lo + floor(engineer_sim.rand(n, salt) * greatest(hi - lo + 1, 1))::bigint
$$;

-- Integer in [lo, hi], most of the mass near lo (power > 1: more skew).
CREATE OR REPLACE FUNCTION engineer_sim.skewed(n bigint, salt int, lo bigint, hi bigint, power double precision) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT lo + floor(power(engineer_sim.rand(n, salt), power) * greatest(hi - lo + 1, 1))::bigint
$$;

-- Integer in [1, hi], most of the mass near hi: recent rows are the busy ones.
CREATE OR REPLACE FUNCTION engineer_sim.recent(n bigint, salt int, hi bigint, power double precision) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT greatest(hi - floor(power(engineer_sim.rand(n, salt), power) * greatest(hi, 1))::bigint, 1)
$$;

-- The id of row n of a counter (by convention the table name): every generated row's id. The
-- second half is a bijection of n, so ids never collide; the first half scatters them like v4 UUIDs.
-- The halves are written as the hex of their 8 big-endian bytes (int8send), the same digits as
-- lpad(to_hex(h), 16, '0') at two thirds of the cost: lpad counts characters.
CREATE OR REPLACE FUNCTION engineer_sim.uid(name text, n bigint) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT encode(int8send(hashtextextended(name, n)) || int8send(n # 6763983799652619961), 'hex')::uuid
$$;

-- One of the choices, uniformly.
CREATE OR REPLACE FUNCTION engineer_sim.oneof(n bigint, salt int, choices text[]) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT choices[1 + floor(engineer_sim.rand(n, salt) * cardinality(choices))::int]
$$;

-- A time uniformly in [from_ts, to_ts).
CREATE OR REPLACE FUNCTION engineer_sim.ts(n bigint, salt int, from_ts timestamptz, to_ts timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT from_ts + (to_ts - from_ts) * engineer_sim.rand(n, salt)
$$;

-- The corpus words() cuts from: issue-tracker vocabulary, generated once and kept here.
CREATE OR REPLACE FUNCTION engineer_sim.corpus() RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $corpus$
  SELECT ('Loads figma button we sort slow pager returns import chrome when. Date upgrade role query format '
    || 'error failed stale error figma button cache. User branch date login label sync green app retry '
    || 'on incident slow after error! Gitlab filter bug staging index debt alert flaky project. Check '
    || 'flaky pagination github leak cleanup request we sync! Export leak loads jira date clicking '
    || 'should staging leak spike gitlab debt. Waiting table after error red cleanup pull? Cpu release '
    || 'schema latency csv integration github error browser request expired project figma mockup gitlab '
    || 'check. Copy merged cannot feature merged timezone p95 follow permissions loads logs mobile '
    || 'loads. Permissions sprint slack app urgent pull issue dashboard date filter oncall production '
    || 'token api page debt! Figma copy mockup retry email copy error on upgrade firefox improvement '
    || 'report. Page retry the loads sort timeout pager deploy we firefox postmortem. Cycle cpu pager '
    || 'table failed integration slack index notification email red logs login retry leak urgent? Rate '
    || 'release safari search alert dashboard deploy search. Query priority rate pager export p95 stale '
    || 'filter label linear regression stale startup role copy data. Github p95 customer customer merged '
    || 'column priority startup cpu cleanup spike pager check cache. Column android memory safari email '
    || 'the notification cpu logs. Ios notification mobile request performance database figma schema '
    || 'copy logs metrics csv. Loads index dashboard table spike chart! Expired release sprint retry '
    || 'pagination cannot request startup chrome customer cycle chrome branch linear. Hotfix priority '
    || 'date expired error latency migration rate date linear expired filter loads pagination export. '
    || 'App issue loads pdf login table sync error hotfix rate search email webhook! Project on review '
    || 'clicking timeout import? Customer after refactor hotfix import api ios review tech export filter '
    || 'notification import project! Ios cleanup cannot timezone failed mockup refactor staging we role? '
    || 'Chrome pipeline failed chart pager login cycle. Cache slow figma slack report stale report '
    || 'feature api text memory date android. Query pager backlog memory migration improvement backlog '
    || 'up regression rate test! Payload data retry logs urgent waiting clicking. Expired format '
    || 'priority text loads sort api github hotfix database. App format we blocked backlog database. '
    || 'Cache upgrade urgent failed debt board memory! Blocked expired save pagination role payload '
    || 'report urgent button app ios red. Safari branch cleanup linear mobile waiting cpu backlog cycle '
    || 'when sprint backlog import on! Team cleanup webhook feature github mockup import green browser '
    || 'data leak android cannot? Page expired sprint we estimate feature report returns logs follow '
    || 'import. Team test save migration crash metrics blocked cleanup the urgent pager regression '
    || 'rollback team reported. P95 app the performance follow logs table merged linear. Import issue '
    || 'query urgent database login copy clicking mockup. Pipeline permissions logs search chart design '
    || 'hotfix github loads pull! Dashboard save api bug import cannot pagination import backlog data '
    || 'logs customer clicking user alert retry? Button backlog filter team jira urgent the debt upgrade '
    || 'linear sort query pagination. Cycle should urgent admin safari permissions migration github '
    || 'follow should notification request save! Android should dashboard regression estimate pipeline '
    || 'user sprint email error slack blocked timeout browser jira branch! Schema index index sync ios '
    || 'red logs table backlog branch? Import tech blocked design firefox firefox should! Login '
    || 'pagination urgent alert expired export merged. Permissions gitlab slack mockup deploy metrics '
    || 'the jira tech text pipeline. Cpu postmortem staging sync regression the hotfix memory figma sync '
    || 'android sprint. Incident after mockup design should alert bug review button merged. Request '
    || 'loads project blocked request export. Incident bug customer copy safari check button locale '
    || 'tech! Request slack button token csv column timezone leak. Estimate priority text role pipeline '
    || 'email mockup sync export report. Linear gitlab cache tech performance tech bug cannot startup. '
    || 'Pdf leak query production role oncall priority! Release locale up locale pagination firefox '
    || 'postmortem waiting memory. Merged alert token linear search browser query waiting project up '
    || 'copy cleanup feature. Token reported format table jira the. Search index cleanup project webhook '
    || 'stale chart loads limit webhook migration logs! The token permissions when pipeline token. '
    || 'Request payload timeout we flaky pagination startup design priority stale the board sort '
    || 'pipeline? Staging team table pagination admin project customer locale green returns. Gitlab date '
    || 'check estimate data format oncall data github. Date alert figma android issue branch import '
    || 'upgrade safari github ios. Permissions index cache urgent test webhook github crash stale? '
    || 'Returns dashboard mockup page chrome deploy login timezone page error crash mockup? Payload '
    || 'check export regression on crash pagination index reported red postmortem. Refactor csv webhook '
    || 'the check merged check spike date failed firefox? Red feature database button table android '
    || 'incident label cleanup startup rollback. Customer locale project text clicking postmortem '
    || 'reported schema after error estimate startup after! Alert waiting performance save urgent '
    || 'production review flaky the after deploy. Table index up cycle feature github expired? Board '
    || 'pipeline loads admin hotfix production migration alert! Api android mockup metrics project '
    || 'translation after. Hotfix report bug retry we urgent logs firefox slow date gitlab cleanup pdf. '
    || 'Timezone migration admin sort failed test test merged! Incident estimate priority android '
    || 'improvement project crash team admin chart. On hotfix after figma cycle team import pagination '
    || 'permissions timeout schema when retry issue table. Incident clicking test permissions sync '
    || 'button on startup should incident api mobile cleanup! Issue webhook spike browser when oncall '
    || 'leak login save safari. Safari board hotfix translation incident crash! Should safari reported '
    || 'github email after translation timeout figma chart! Report figma waiting translation pull green '
    || 'timezone. P95 timezone timezone backlog pager android mockup text safari issue? Format '
    || 'integration query text pager migration report expired. Login figma database oncall import csv. '
    || 'Pull report limit csv upgrade webhook up jira android pipeline token. Staging page design '
    || 'database report cache text android table app browser clicking copy! Up p95 failed loads project '
    || 'startup clicking when. Design debt green date green project format? Oncall cleanup linear '
    || 'improvement mobile release the jira index admin cleanup migration mobile table copy webhook. P95 '
    || 'feature pager query refactor import export clicking. Expired logs staging export check page '
    || 'import postmortem user deploy after payload startup expired jira request. Cache after spike '
    || 'cycle metrics rollback review debt login estimate linear notification firefox urgent import '
    || 'admin. When android app text report merged hotfix postmortem csv urgent integration! Alert tech '
    || 'limit retry cycle sort? Urgent postmortem oncall dashboard alert regression check refactor data '
    || 'mobile button. Cycle red staging the reported cache loads branch feature timezone api pager '
    || 'button expired? Save release page the latency pipeline webhook limit p95! Locale pipeline user '
    || 'safari pager table metrics user sprint. Tech slow after dashboard waiting copy urgent board. '
    || 'Spike refactor rate github project export the save error filter deploy text crash admin metrics '
    || 'returns. Android login locale ios rate import? Pdf export red after flaky button notification '
    || 'sort issue postmortem request index check tech pdf. Priority permissions when failed performance '
    || 'urgent page. Request limit urgent test browser logs import sprint csv priority admin ios metrics '
    || 'hotfix startup design. Role follow sort column column search issue deploy request permissions '
    || 'green chrome mockup should csv. Deploy payload webhook report cpu login. Clicking cannot '
    || 'clicking upgrade save after! Ios filter after up webhook project safari safari payload reported '
    || 'reported. Request notification timeout expired timeout safari test production memory format '
    || 'priority release spike estimate pull button. Linear table request customer locale customer '
    || 'request rate timeout cpu column. Browser query request csv request the pagination ios request '
    || 'page issue spike jira slow? Github cpu api priority metrics pull chrome permissions? Payload '
    || 'check jira retry hotfix p95 slow copy? Format deploy incident safari pipeline urgent bug! Csv '
    || 'follow permissions migration token filter reported spike hotfix limit chart tech rollback csv? '
    || 'Estimate permissions token performance schema admin import startup blocked pipeline chart chart '
    || 'project. Limit spike report admin hotfix on priority retry export retry android up loads '
    || 'dashboard pipeline. Review android webhook webhook merged safari design schema reported sprint '
    || 'copy request.'
    )::bytea
$corpus$;

-- Plausible text of min_len to max_len characters, cut from the corpus at a pseudo-random place.
-- The corpus is ASCII kept as bytea: cutting and trimming bytes is constant time per byte, while
-- cutting or trimming UTF-8 text walks it character by character (btrim on the text was 80 % of
-- this function's cost).
CREATE OR REPLACE FUNCTION engineer_sim.words(n bigint, salt int, min_len int, max_len int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT convert_from(btrim(substring(engineer_sim.corpus()
                            FROM 1 + floor(engineer_sim.rand(n, salt) * 3000)::int
                            FOR min_len + floor(engineer_sim.rand(n, salt + 7919) * (max_len - min_len + 1))::int),
                            '\x20'::bytea), 'UTF8')
$$;
