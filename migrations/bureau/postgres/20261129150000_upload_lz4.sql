-- A lead's signed upload (about 10 KiB of JSON per lead) is compressed when it is
-- stored. With PostgreSQL's default, pglz, that compression was an eighth of the
-- database's CPU for each lead received in the city bench; lz4 compresses the
-- same text several times faster. Only values written from now on are affected,
-- and reading needs no change. A server built without lz4 keeps pglz.
DO $$
BEGIN
    ALTER TABLE leads ALTER COLUMN upload_json SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 is not available on this server: lead uploads stay compressed with pglz';
END
$$;
