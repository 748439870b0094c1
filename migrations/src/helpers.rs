//! Helpers every migration uses, so that constraint and index names follow one pattern.

use sea_orm_migration::prelude::*;

/// A foreign key `fk_<table>_<column>` to `<to_table>.id`; deleting the referenced row is refused.
pub fn foreign_key(
    from_table: &'static str,
    from_column: &'static str,
    to_table: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from_table}_{from_column}"))
        .from(from_table, from_column)
        .to(to_table, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

/// An index `ix_<table>_<columns>`.
pub fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut statement = Index::create();
    statement.name(format!("ix_{table}_{}", columns.join("_"))).table(table);
    for column in columns {
        statement.col(*column);
    }
    statement.to_owned()
}
