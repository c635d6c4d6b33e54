//! Writers for timeline boards: dated cards with a person, an organisation and a quote.

use serde::{Deserialize, Serialize};
use yrs::Doc;

use super::fields::{
    check_len, create_item, delete_item, item, new_text, open_board, patch_str, patch_text,
    root_mut, set_author, set_str, MAX_TEXT,
};
use super::schema::{board_root, field, Author, BoardKind};
use super::templates::MAX_TITLE;
use super::BoardError;

/// A new timeline card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardInput {
    /// Card id.
    pub id: String,
    /// Free label: "2021", "septembre 2022".
    pub when: String,
    /// Sortable date: `yyyy`, `yyyy-mm` or `yyyy-mm-dd`; `""` = undated.
    pub sort_key: String,
    /// Title of the moment.
    pub title: String,
    /// Person whose moment it is.
    pub person: String,
    /// That person's organisation.
    pub organisation: String,
    /// What they said about it.
    pub quote: String,
    /// Who typed the card.
    pub author: Author,
    /// When (ms since the epoch).
    pub created_at: i64,
}

/// Changes to a card; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardPatch {
    /// New label.
    #[serde(default)]
    pub when: Option<String>,
    /// New sortable date.
    #[serde(default)]
    pub sort_key: Option<String>,
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// New person.
    #[serde(default)]
    pub person: Option<String>,
    /// New organisation.
    #[serde(default)]
    pub organisation: Option<String>,
    /// New quote.
    #[serde(default)]
    pub quote: Option<String>,
}

/// Whether `key` is `""`, `yyyy`, `yyyy-mm` or `yyyy-mm-dd` (digits only, month 01–12, day 01–31).
pub fn is_sort_key(key: &str) -> bool {
    if key.is_empty() {
        return true;
    }
    let parts: Vec<&str> = key.split('-').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let in_range = |s: &str, max: u32| s.parse::<u32>().is_ok_and(|v| (1..=max).contains(&v));
    match parts.as_slice() {
        [y] => digits(y, 4),
        [y, m] => digits(y, 4) && digits(m, 2) && in_range(m, 12),
        [y, m, d] => {
            digits(y, 4) && digits(m, 2) && in_range(m, 12) && digits(d, 2) && in_range(d, 31)
        }
        _ => false,
    }
}

fn check_sort_key(key: &str) -> Result<(), BoardError> {
    if is_sort_key(key) {
        Ok(())
    } else {
        Err(BoardError::InvalidField {
            field: "sortKey",
            reason: "expected yyyy, yyyy-mm or yyyy-mm-dd",
        })
    }
}

fn check_card(
    when: Option<&String>,
    sort_key: Option<&String>,
    person: Option<&String>,
    organisation: Option<&String>,
    title: Option<&String>,
    quote: Option<&String>,
) -> Result<(), BoardError> {
    for (name, v) in [
        ("when", when),
        ("person", person),
        ("organisation", organisation),
    ] {
        if let Some(v) = v {
            check_len(name, v, MAX_TITLE)?;
        }
    }
    for (name, v) in [("title", title), ("quote", quote)] {
        if let Some(v) = v {
            check_len(name, v, MAX_TEXT)?;
        }
    }
    sort_key.map_or(Ok(()), |k| check_sort_key(k))
}

/// Adds a card (cards are shown in date order, so there is no position).
pub fn add_card(board: &Doc, card: &CardInput) -> Result<(), BoardError> {
    check_card(
        Some(&card.when),
        Some(&card.sort_key),
        Some(&card.person),
        Some(&card.organisation),
        Some(&card.title),
        Some(&card.quote),
    )?;
    let mut txn = open_board(board, BoardKind::Timeline)?;
    let cards = root_mut(&mut txn, board_root::CARDS);
    let m = create_item(&mut txn, &cards, "card", &card.id)?;
    set_str(&mut txn, &m, field::WHEN, card.when.trim());
    set_str(&mut txn, &m, field::SORT_KEY, &card.sort_key);
    new_text(&mut txn, &m, field::TITLE, &card.title);
    set_str(&mut txn, &m, field::PERSON, card.person.trim());
    set_str(&mut txn, &m, field::ORGANISATION, card.organisation.trim());
    new_text(&mut txn, &m, field::QUOTE, &card.quote);
    set_author(&mut txn, &m, &card.author, card.created_at);
    Ok(())
}

/// Changes some fields of a card.
pub fn edit_card(board: &Doc, card_id: &str, patch: &CardPatch) -> Result<(), BoardError> {
    check_card(
        patch.when.as_ref(),
        patch.sort_key.as_ref(),
        patch.person.as_ref(),
        patch.organisation.as_ref(),
        patch.title.as_ref(),
        patch.quote.as_ref(),
    )?;
    let mut txn = open_board(board, BoardKind::Timeline)?;
    let cards = root_mut(&mut txn, board_root::CARDS);
    let m = item(&txn, &cards, "card", card_id)?;
    patch_str(&mut txn, &m, field::WHEN, patch.when.as_ref());
    patch_str(&mut txn, &m, field::SORT_KEY, patch.sort_key.as_ref());
    patch_text(&mut txn, &m, field::TITLE, patch.title.as_ref());
    patch_str(&mut txn, &m, field::PERSON, patch.person.as_ref());
    patch_str(
        &mut txn,
        &m,
        field::ORGANISATION,
        patch.organisation.as_ref(),
    );
    patch_text(&mut txn, &m, field::QUOTE, patch.quote.as_ref());
    Ok(())
}

/// Deletes a card.
pub fn delete_card(board: &Doc, card_id: &str) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Timeline)?;
    let cards = root_mut(&mut txn, board_root::CARDS);
    delete_item(&mut txn, &cards, "card", card_id)
}

#[cfg(test)]
mod tests {
    use super::is_sort_key;

    #[test]
    fn sort_keys() {
        for ok in ["", "2021", "2022-09", "2022-09-15"] {
            assert!(is_sort_key(ok), "{ok}");
        }
        for bad in [
            "21",
            "2022-9",
            "2022-13",
            "2022-00",
            "2022-09-32",
            "2022-09-15-1",
            "abcd",
            "2022/09",
        ] {
            assert!(!is_sort_key(bad), "{bad}");
        }
    }
}
