-- The language a user chose for the interface ("fr" or "en"); NULL: follow the browser's
-- Accept-Language (French when it names neither).
ALTER TABLE users ADD COLUMN language VARCHAR(8);
