//! The seed-day scenario shared by the unit tests and the integration tests: a "Journée bilan"
//! workshop filled with a slice of the seed report's content (fictional people, fixed ids and
//! times, so every export is deterministic).
//!
//! The integration tests run the same scenario through real WebSocket clients: create the workshop
//! over HTTP, let each client doc finish its initial sync (the board docs must hold their `board`
//! meta map, writers check the kind), then call [`fill_seed_slice`] on the client docs.
//! Over 400 lines: it is test data — the seed day's slice written board by board.

use rand::SeedableRng;
use yrs::{Doc, Transact};

use super::accelerator::{self, HeaderPatch, ItemInput};
use super::discussion;
use super::fields::{doc_from_update, str_of};
use super::interview::{self, AnswerInput};
use super::people::{self, ParticipantInput};
use super::schema::{field, split_doc_id, Author, Stage};
use super::timeline::{self, CardInput};
use super::workshop::{
    self, agenda_entries, new_workshop, EmptyBoards, MetaPatch, NewWorkshop, WorkshopParams,
};
use super::{grid, icebreaker, BoardError, WorkshopTemplate};

/// 2023-05-09T08:00:00Z, the start of the seed day.
pub const T0: i64 = 1_683_619_200_000;

const MINUTE: i64 = 60_000;

/// Seed of the random generator that makes the workshop's ids and client ids.
pub const RNG_SEED: u64 = 20_230_509;

/// Board docs with their doc ids, as [`super::read_workshop`] takes them.
pub type BoardDocs = Vec<(String, Doc)>;

/// Creates the "journee-bilan" workshop with deterministic ids, and its docs.
pub fn seed_workshop() -> Result<(NewWorkshop, Doc, BoardDocs), BoardError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(RNG_SEED);
    let params = WorkshopParams::new(
        WorkshopTemplate::JourneeBilan,
        "Journée bilan",
        "2023-05-09",
    );
    let created = new_workshop(&params, T0, &mut rng)?;
    let workshop = doc_from_update(&created.update)?;
    let boards = created
        .boards
        .iter()
        .map(|b| Ok((b.doc_id.clone(), doc_from_update(&b.update)?)))
        .collect::<Result<Vec<_>, BoardError>>()?;
    Ok((created, workshop, boards))
}

/// [`seed_workshop`] then [`fill_seed_slice`].
pub fn seed_filled() -> Result<(Doc, BoardDocs), BoardError> {
    let (_, workshop, boards) = seed_workshop()?;
    fill_seed_slice(&workshop, &boards)?;
    Ok((workshop, boards))
}

fn author(id: &str, name: &str, org: &str) -> Author {
    Author::new(id, name, org)
}

struct People {
    camille: Author,
    hugo: Author,
    nadia: Author,
    julien: Author,
    marc: Author,
    paul: Author,
    sophie: Author,
    ines: Author,
    lea: Author,
}

fn people() -> People {
    People {
        camille: author("p-camille", "Camille Roux", "Coopérative d'animation"),
        hugo: author("p-hugo", "Hugo Lemaire", "Agate"),
        nadia: author("p-nadia", "Nadia Benali", "Foyer résidence Les Epinettes"),
        julien: author("p-julien", "Julien Morel", "CCAS La Ravoire"),
        marc: author("p-marc", "Marc Dubois", "Agate"),
        paul: author("p-paul", "Paul Girard", "Centre culturel La Turbine"),
        sophie: author("p-sophie", "Sophie Garnier", "CLEF Chantemerle"),
        ines: author("p-ines", "Inès Caron", "Régie Coup de Pouce"),
        lea: author("p-lea", "Léa Fontaine", "Ville d'Annecy"),
    }
}

/// The board doc of the `nth` agenda entry made from `template` (0-based).
pub fn board_by_template<'a>(
    workshop: &Doc,
    boards: &'a [(String, Doc)],
    template: &str,
    nth: usize,
) -> Result<(String, &'a Doc), BoardError> {
    let txn = workshop.transact();
    let bid = agenda_entries(&txn)
        .into_iter()
        .filter(|(_, m)| str_of(&txn, m, field::TEMPLATE) == template)
        .map(|(bid, _)| bid)
        .nth(nth)
        .ok_or_else(|| BoardError::NotFound {
            what: "board of template",
            id: template.to_owned(),
        })?;
    let doc = boards
        .iter()
        .find(|(doc_id, _)| split_doc_id(doc_id).is_some_and(|(_, b)| b == bid))
        .map(|(_, d)| d)
        .ok_or_else(|| BoardError::NotFound {
            what: "board doc",
            id: bid.clone(),
        })?;
    Ok((bid, doc))
}

/// Writes the seed slice into a "journee-bilan" workshop: meta, participants, the icebreaker,
/// three timeline cards inserted out of date order, a few notes per column of the five-column
/// review (with votes and a group), the first accelerator through every stage, some interview
/// answers and some feedback.
pub fn fill_seed_slice(workshop: &Doc, boards: &[(String, Doc)]) -> Result<(), BoardError> {
    let p = people();
    fill_meta(workshop, &p)?;
    fill_icebreaker(workshop, boards)?;
    fill_timeline(workshop, boards, &p)?;
    fill_five_columns(workshop, boards, &p)?;
    fill_accelerator(workshop, boards, &p)?;
    fill_interview(workshop, boards, &p)?;
    fill_feedback(workshop, boards, &p)?;
    fill_discussion(workshop, boards, &p)
}

/// What was said beside what was posted: the review's synthesis and side remarks, next actions
/// per organisation with nested points, who ran the interview groups, boards renamed as the
/// seed has them.
fn fill_discussion(workshop: &Doc, boards: &[(String, Doc)], p: &People) -> Result<(), BoardError> {
    let (review, _) = board_by_template(workshop, boards, "five-columns", 0)?;
    workshop::set_board_notes(
        workshop,
        &review,
        Some(
            "# Retour partagé avec les structures\n\n\
             ## Maintenir\n\n\
             - La formation, les cycles de conférence et le réseau de partenaires\n\
             - La recherche de financements\n\n\
             ## Amplifier\n\n\
             - Les liens entre les structures\n\
             - La connaissance sur le numérique\n\
             \x20 - les démarches de mobilisation des élus\n\n\
             ## Questionnement général\n\n\
             Quelle suite pour le projet ? La ligne de financement actuelle s'arrête.\n",
        ),
        Some(
            "**Espace numérique du quartier :**\n\n\
             - Qui va tenir la permanence numérique de septembre ?\n\
             - Proposition : mécénat de compétence ?\n",
        ),
    )?;
    let (actions, doc) = board_by_template(workshop, boards, "next-actions", 0)?;
    grid::rename_column(doc, "org1", "CCAS La Ravoire : mieux communiquer")?;
    grid::add_column(doc, "org-agate", "Agate : mobiliser", "yellow", None)?;
    let notes: [(&str, &str, &str, Option<&str>); 6] = [
        (
            "na-1",
            "org1",
            "Continuer d'aller à la rencontre des partenaires",
            None,
        ),
        ("na-2", "org1", "Exemples d'application :", None),
        (
            "na-3",
            "org1",
            "Jeudi, une réunion pour reprendre les ateliers sociolinguistiques",
            Some("na-2"),
        ),
        (
            "na-4",
            "org1",
            "Dans un mois, un rendez-vous avec le département",
            Some("na-2"),
        ),
        (
            "na-5",
            "org-agate",
            "Il reste un enjeu de mobilisation des élus :",
            None,
        ),
        (
            "na-6",
            "org-agate",
            "Inviter des élus à la conférence de clôture de juin",
            Some("na-5"),
        ),
    ];
    for (i, (id, column, text, parent)) in (0i64..).zip(notes) {
        grid::add_note(
            doc,
            &grid::NoteInput {
                id: id.to_owned(),
                column: column.to_owned(),
                text: text.to_owned(),
                colour: String::new(),
                author: p.camille.clone(),
                created_at: T0 + (100 + i) * MINUTE,
            },
            None,
        )?;
        if parent.is_some() {
            discussion::set_note_parent(doc, id, parent)?;
        }
    }
    workshop::set_board_notes(workshop, &actions, None, Some(""))?;
    let (_, interview) = board_by_template(workshop, boards, "interview", 0)?;
    discussion::set_group_lead(interview, "g1", &p.marc.name)?;
    discussion::set_group_lead(interview, "g2", &p.hugo.name)?;
    let (acc, _) = board_by_template(workshop, boards, "accelerator", 0)?;
    workshop::rename_board(workshop, &acc, "Accélérateurs de projet")?;
    let (ice, _) = board_by_template(workshop, boards, "icebreaker", 0)?;
    workshop::rename_board(
        workshop,
        &ice,
        "Brise glace « Confidences et petits papiers »",
    )
}

fn fill_meta(workshop: &Doc, p: &People) -> Result<(), BoardError> {
    workshop::set_meta(
        workshop,
        &MetaPatch {
            title: Some("Journée bilan".to_owned()),
            date: Some("2023-05-09".to_owned()),
            place: Some("Chambéry".to_owned()),
            objectives: None,
            notes_url: Some("https://wiki.example.org/journee-bilan-notes".to_owned()),
            empty_boards: Some(EmptyBoards::Omit),
        },
    )?;
    // The seed's four groups are the template's defaults; people are listed by the facilitator,
    // with or without a phone (the phone ones accepted from a request).
    let list: [(&Author, &str, &str, bool); 9] = [
        (
            &p.camille,
            "animatrice, formatrice en coopération",
            "facilitation",
            false,
        ),
        (&p.hugo, "chargé de mission numérique", "team", true),
        (&p.marc, "directeur du pôle numérique", "team", false),
        (&p.nadia, "assistante sociale", "accompanied", true),
        (&p.julien, "conseiller numérique", "accompanied", true),
        (&p.sophie, "coordinatrice", "accompanied", false),
        (&p.ines, "médiatrice sociale", "accompanied", true),
        (
            &p.lea,
            "coordination de la médiation numérique",
            "guests",
            false,
        ),
        (&p.paul, "chargé de projet", "guests", false),
    ];
    for (who, role, group, phone) in list {
        // Someone typed their organisation in lower case; the facilitator merges it below.
        let who = &Author {
            organisation: if who.id == "p-julien" {
                "ccas la ravoire".to_owned()
            } else {
                who.organisation.clone()
            },
            ..who.clone()
        };
        if phone {
            people::request_listing(
                workshop,
                &people::ListingRequest {
                    id: who.id.clone(),
                    name: who.name.clone(),
                    role: role.to_owned(),
                    organisation: who.organisation.clone(),
                },
                T0,
            )?;
            people::accept_request(workshop, &who.id, group)?;
        } else {
            people::upsert_participant(
                workshop,
                &ParticipantInput {
                    id: who.id.clone(),
                    name: who.name.clone(),
                    role: role.to_owned(),
                    organisation: who.organisation.clone(),
                    group: group.to_owned(),
                    phone,
                },
            )?;
        }
    }
    people::merge_organisations(workshop, "CCAS La Ravoire")?;
    Ok(())
}

fn fill_icebreaker(workshop: &Doc, boards: &[(String, Doc)]) -> Result<(), BoardError> {
    let (bid, doc) = board_by_template(workshop, boards, "icebreaker", 0)?;
    let notes = [
        ("ice-1", "J'ai découvert le wiki le mois dernier…"),
        (
            "ice-2",
            "La première fois, je ne savais pas ce qu'était un CNFS.",
        ),
        ("ice-3", "J'ai gardé tous les supports des conférences."),
    ];
    for (i, (id, text)) in (0i64..).zip(notes) {
        icebreaker::add_note(doc, id, text, T0 + (5 + i) * MINUTE)?;
    }
    workshop::set_note_revealed(workshop, &bid, "ice-1", true)?;
    workshop::set_note_revealed(workshop, &bid, "ice-2", true)
}

fn fill_timeline(workshop: &Doc, boards: &[(String, Doc)], p: &People) -> Result<(), BoardError> {
    let (_, doc) = board_by_template(workshop, boards, "timeline", 0)?;
    let cards = [
        (
            "card-chantemerle",
            "septembre 2022",
            "2022-09",
            "Reprendre le projet en cours de route",
            &p.sophie,
            "C'était une grande aventure de récupérer un projet déjà lancé.",
        ),
        (
            "card-ami",
            "2021",
            "2021",
            "Les appels à manifestation d'intérêt",
            &p.hugo,
            "Il fallait d'abord prouver aux structures l'intérêt du projet.",
        ),
        (
            "card-pix",
            "printemps 2022",
            "2022-04",
            "Découvrir PIX",
            &p.ines,
            "Un outil qui fait prendre conscience de tous les domaines du numérique qu'on ne connaît pas.",
        ),
    ];
    for (i, (id, when, sort_key, title, person, quote)) in (0i64..).zip(cards) {
        timeline::add_card(
            doc,
            &CardInput {
                id: id.to_owned(),
                when: when.to_owned(),
                sort_key: sort_key.to_owned(),
                title: title.to_owned(),
                person: person.name.clone(),
                organisation: person.organisation.clone(),
                quote: quote.to_owned(),
                author: p.camille.clone(),
                created_at: T0 + (20 + i) * MINUTE,
            },
        )?;
    }
    Ok(())
}

fn fill_five_columns(
    workshop: &Doc,
    boards: &[(String, Doc)],
    p: &People,
) -> Result<(), BoardError> {
    let (bid, doc) = board_by_template(workshop, boards, "five-columns", 0)?;
    workshop::set_votes_per_person(workshop, &bid, 3)?;
    workshop::set_projected(workshop, Some(&bid))?;
    let notes: [(&str, &str, &str, &Author); 12] = [
        (
            "n-creer-1",
            "creer",
            "Des formations plus régulières",
            &p.julien,
        ),
        (
            "n-creer-2",
            "creer",
            "De nouveaux projets entre plusieurs structures",
            &p.nadia,
        ),
        (
            "n-creer-3",
            "creer",
            "Une conférence sur l'inclusion numérique",
            &p.lea,
        ),
        (
            "n-maint-1",
            "maintenir",
            "Le partage d'expérience",
            &p.sophie,
        ),
        ("n-maint-2", "maintenir", "Le réseau en place", &p.ines),
        (
            "n-maint-3",
            "maintenir",
            "La permanence numérique du vendredi matin",
            &p.sophie,
        ),
        (
            "n-ampl-1",
            "amplifier",
            "Le wiki comme ressourcerie commune",
            &p.hugo,
        ),
        (
            "n-ampl-2",
            "amplifier",
            "Le réseau partenarial sur le territoire",
            &p.julien,
        ),
        (
            "n-ampl-3",
            "amplifier",
            "Le lien avec les conseillers numériques",
            &p.nadia,
        ),
        (
            "n-red-1",
            "reduire",
            "La lourdeur des financements européens",
            &p.hugo,
        ),
        (
            "n-arr-1",
            "arreter",
            "La formation des bénévoles ?",
            &p.ines,
        ),
        (
            "n-arr-2",
            "arreter",
            "Courir après les fonds européens",
            &p.julien,
        ),
    ];
    for (i, (id, column, text, who)) in (0i64..).zip(notes) {
        grid::add_note(
            doc,
            &grid::NoteInput {
                id: id.to_owned(),
                column: column.to_owned(),
                text: text.to_owned(),
                colour: String::new(),
                author: who.clone(),
                created_at: T0 + (60 + i) * MINUTE,
            },
            None,
        )?;
    }
    let limit = workshop::votes_per_person(workshop, &bid);
    let votes = [
        ("n-creer-1", &p.julien),
        ("n-creer-1", &p.sophie),
        ("n-creer-2", &p.nadia),
        ("n-maint-1", &p.ines),
        ("n-maint-1", &p.ines),
        ("n-maint-1", &p.lea),
        ("n-ampl-2", &p.hugo),
    ];
    for (note, voter) in votes {
        grid::vote(doc, note, &voter.id, limit)?;
    }
    grid::group_notes(
        doc,
        "grp-reseau",
        "Travailler en réseau",
        &["n-ampl-2", "n-ampl-3"],
        T0 + 80 * MINUTE,
    )
}

fn fill_accelerator(
    workshop: &Doc,
    boards: &[(String, Doc)],
    p: &People,
) -> Result<(), BoardError> {
    let (_, doc) = board_by_template(workshop, boards, "accelerator", 0)?;
    accelerator::set_header(
        doc,
        &HeaderPatch {
            owner: Some(p.julien.name.clone()),
            owner_org: Some("CCAS La Ravoire".to_owned()),
            question: Some("Comment trouver des bénévoles ?".to_owned()),
            context: Some(
                "Le CCAS reprend les ateliers sociolinguistiques (ASL) jusque-là assurés par le foyer."
                    .to_owned(),
            ),
            statement: Some(
                "Je voudrais que le groupe m'aide à trouver des bénévoles pour les ateliers ASL."
                    .to_owned(),
            ),
            reformulation: Some(
                "Comment recruter et garder des bénévoles pour étendre les ateliers ASL du CCAS ?"
                    .to_owned(),
            ),
        },
    )?;
    let items: [(&str, Stage, &str, &str, &str, &Author); 7] = [
        ("acc-q1", Stage::Questions, "Qu'est-ce qui est proposé aux bénévoles en retour ?", "", "", &p.sophie),
        ("acc-q2", Stage::Questions, "À quels horaires ont lieu les ateliers ?", "", "", &p.lea),
        ("acc-i1", Stage::Ideas, "Publier l'annonce sur une plateforme de bénévolat", "", "", &p.ines),
        ("acc-i2", Stage::Ideas, "Penser le tutorat ou le parrainage", "", "", &p.nadia),
        (
            "acc-a1",
            Stage::Actions,
            "Écrire une fiche de mission qui clarifie le rôle des bénévoles",
            "Julien Morel",
            "Premier brouillon avant la fin du mois",
            &p.julien,
        ),
        (
            "acc-a2",
            Stage::Actions,
            "Proposer des ateliers en fin de journée pour toucher d'autres bénévoles que les retraités",
            "CCAS La Ravoire",
            "En parler à la prochaine réunion d'équipe",
            &p.julien,
        ),
        ("acc-a3", Stage::Actions, "Explorer la piste des services civiques", "", "", &p.julien),
    ];
    for (i, (id, stage, text, who, next, by)) in (0i64..).zip(items) {
        accelerator::add_item(
            doc,
            &ItemInput {
                id: id.to_owned(),
                stage,
                text: text.to_owned(),
                who: who.to_owned(),
                next: next.to_owned(),
                author: by.clone(),
                created_at: T0 + (120 + i) * MINUTE,
            },
            None,
        )?;
    }
    Ok(())
}

fn fill_interview(workshop: &Doc, boards: &[(String, Doc)], p: &People) -> Result<(), BoardError> {
    let (_, doc) = board_by_template(workshop, boards, "interview", 0)?;
    let answers = [
        (
            "ans-1",
            "why",
            "g1",
            "Mutualiser l'existant et nouer des partenariats",
            &p.lea,
        ),
        (
            "ans-2",
            "keep",
            "g2",
            "Un accompagnement complet, adapté à chaque structure",
            &p.sophie,
        ),
        (
            "ans-3",
            "keep",
            "g2",
            "Le diagnostic de départ, source du projet",
            &p.nadia,
        ),
        ("ans-4", "next", "g2", "Continuer à me former", &p.julien),
    ];
    for (i, (id, question, group, text, by)) in (0i64..).zip(answers) {
        interview::add_answer(
            doc,
            &AnswerInput {
                id: id.to_owned(),
                question: question.to_owned(),
                group: group.to_owned(),
                text: text.to_owned(),
                author: by.clone(),
                created_at: T0 + (200 + i) * MINUTE,
            },
        )?;
    }
    Ok(())
}

fn fill_feedback(workshop: &Doc, boards: &[(String, Doc)], p: &People) -> Result<(), BoardError> {
    let (_, doc) = board_by_template(workshop, boards, "feedback", 0)?;
    let notes = [
        (
            "fb-1",
            "apprecie",
            "Participatif ++. Bon rythme. Bon accueil",
            &p.ines,
        ),
        (
            "fb-2",
            "apprecie",
            "Très bon équilibre travail/convivialité",
            &p.lea,
        ),
        (
            "fb-3",
            "changerais",
            "Les entretiens croisés, un peu flous",
            &p.sophie,
        ),
        ("fb-4", "mot", "Merci ! :)", &p.nadia),
    ];
    for (i, (id, column, text, by)) in (0i64..).zip(notes) {
        grid::add_note(
            doc,
            &grid::NoteInput {
                id: id.to_owned(),
                column: column.to_owned(),
                text: text.to_owned(),
                colour: String::new(),
                author: by.clone(),
                created_at: T0 + (400 + i) * MINUTE,
            },
            None,
        )?;
    }
    Ok(())
}
