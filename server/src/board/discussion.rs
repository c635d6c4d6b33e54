//! What the discussion adds to a board beyond its post-its: sub-points under a grid note (the
//! seed's "Exemples d'application :") and who ran an interview group ("Groupe animé par …").

use yrs::Doc;

use super::fields::{check_len, item, map_of, open_board, root_mut, set_str, str_of};
use super::schema::{board_root, check_id, field, BoardKind};
use super::templates::MAX_TITLE;
use super::BoardError;

pub use super::view::MAX_SUBPOINT_DEPTH;

/// Makes grid note `note` a sub-point of `parent` (`None`: a note of its own again). Refuses a
/// parent that would make a cycle or nest deeper than [`MAX_SUBPOINT_DEPTH`].
pub fn set_note_parent(board: &Doc, note: &str, parent: Option<&str>) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Grid)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let m = item(&txn, &notes, "note", note)?;
    let Some(parent) = parent else {
        set_str(&mut txn, &m, field::PARENT, "");
        return Ok(());
    };
    check_id(parent)?;
    item(&txn, &notes, "note", parent)?;
    let mut at = parent.to_owned();
    for _ in 0..MAX_SUBPOINT_DEPTH {
        if at == note {
            return Err(BoardError::InvalidField {
                field: "parent",
                reason: "a note cannot be a sub-point of itself",
            });
        }
        let up = map_of(&txn, &notes, &at).map(|p| str_of(&txn, &p, field::PARENT));
        match up {
            Some(up) if !up.is_empty() => at = up,
            _ => {
                set_str(&mut txn, &m, field::PARENT, parent);
                return Ok(());
            }
        }
    }
    Err(BoardError::InvalidField {
        field: "parent",
        reason: "sub-points nest too deep",
    })
}

/// Says who ran an interview group (`""` removes it).
pub fn set_group_lead(board: &Doc, group: &str, lead: &str) -> Result<(), BoardError> {
    check_len("lead", lead, MAX_TITLE)?;
    let mut txn = open_board(board, BoardKind::Interview)?;
    let root = root_mut(&mut txn, board_root::GROUPS);
    let m = item(&txn, &root, "group", group)?;
    set_str(&mut txn, &m, field::LEAD, lead.trim());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::fixtures::{board_by_template, seed_workshop};

    #[test]
    fn sub_points_refuse_cycles() {
        let (_, workshop, boards) = seed_workshop().expect("test setup");
        let (_, doc) =
            board_by_template(&workshop, &boards, "five-columns", 0).expect("test setup");
        for id in ["a", "b", "c"] {
            crate::board::grid::add_note(
                doc,
                &crate::board::grid::NoteInput {
                    id: id.into(),
                    column: "creer".into(),
                    text: id.into(),
                    colour: String::new(),
                    author: Default::default(),
                    created_at: 1,
                },
                None,
            )
            .expect("test setup");
        }
        set_note_parent(doc, "b", Some("a")).expect("test setup");
        set_note_parent(doc, "c", Some("b")).expect("test setup");
        assert!(
            set_note_parent(doc, "a", Some("c")).is_err(),
            "cycle refused"
        );
        assert!(set_note_parent(doc, "a", Some("a")).is_err());
        assert!(
            set_note_parent(doc, "a", Some("zz")).is_err(),
            "unknown parent"
        );
        set_note_parent(doc, "c", None).expect("test setup");
    }
}
