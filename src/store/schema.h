/* The store's schema version and migrations (schema.c). */
#pragma once
#include "core/error.h"
#include "store/db.h"

/* The version this sandbench writes. Older stores are migrated when opened; newer ones refused. */
#define SB_STORE_SCHEMA_VERSION 2

/* The schema version of an open database: 0 when it has never been a store. */
int sb_store_schema_version(struct sb_db *db, int *version, struct sb_error *err);
/* Bring the database to schema version `target` (1..SB_STORE_SCHEMA_VERSION) in one transaction,
 * serialised against other processes doing the same. A store already there is left alone; a newer
 * one is an error (EPROTO). */
int sb_store_migrate(struct sb_db *db, int target, struct sb_error *err);
