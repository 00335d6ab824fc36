-- Issue 22 (SQLite's 0020): a versioned period's manifest goes to each destination too, one
-- upload of role 'manifest' per rewrite, attached to the period's current version at the
-- time; so the unique key is (period, version, destination, key, sha256), one put per
-- content. See 0020 for the meaning.
ALTER TABLE uploads DROP CONSTRAINT uploads_role_check;
ALTER TABLE uploads ADD CONSTRAINT uploads_role_check
    CHECK (role IN ('current', 'kept', 'manifest'));
ALTER TABLE uploads DROP CONSTRAINT uploads_request_version_destination_object_key_key;
ALTER TABLE uploads ADD CONSTRAINT uploads_one_put_per_content
    UNIQUE (request, version, destination, object_key, sha256);
