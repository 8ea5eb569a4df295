//! The queue: one card per job, with live progress and the job's controls while it has not
//! ended, and its outcome, output, problems and output images (thumbnails) once it has.
//!
//! Controls: Pause or Resume and Cancel on every active card; "Stop after current" on the cards
//! of kinds that can stop early (their description says; an archive cannot stop part-way); jobs
//! not started yet get Up, Down, "Run next" and a drag handle (drop onto another waiting card to
//! take its place). Finished cards offer "Retry failed" (kinds that can redo only the failed
//! items), "Run again" (failed, cancelled or stopped jobs) and "Open folder", and whatever the
//! kind adds (a job that failed because its archive exists offers Replace and Keep both). The
//! header pauses, resumes or cancels the whole queue.
//!
//! Every card can be reached with the keyboard: focusing it selects it. F6 (or the window's
//! first Tab stop, "Skip to the queue") puts the focus on the selected card, else the first; a
//! click on a card focuses it too; Up and Down on a focused card go to the card above or below;
//! whatever gets the focus in the queue is scrolled into view. The
//! problem list is complete (it scrolls, only visible rows are laid out), says "error" or
//! "skipped" in words, and can be copied or exported. Every output image (a thumbnail) is
//! reachable: the first few show at once, "Show all" opens a scrolling grid that loads them as
//! they come into view; hovering one shows its name, clicking opens it.
//!
//! Owns: drawing job cards and the queue's header buttons.
//! Must not touch: the engine (every control is a command), textures' creation (the app uploads
//! strip images; this only draws them and asks for the ones in view), a kind's own words (its
//! entry and form give them).

use eframe::egui::{self, RichText};

use crate::engine::Counts;
use crate::engine::{JobKind, JobReport, PauseReason, ProblemKind, QueueMove};

use super::super::export::ExportFormat;
use super::super::format;
use super::super::kinds::{self, KindForms};
use super::super::queue::{ImageBox, JobRow, LiveState, Queue, STRIP_MAX_THUMBNAILS, ThumbSlot};
use super::super::state::{Command, UiState};
use super::{section_heading, theme, widgets};

/// Size of one thumbnail cell, in points (images keep their aspect ratio inside).
const THUMB_CELL: egui::Vec2 = egui::vec2(104.0, 78.0);
/// Gap between thumbnail cells, in points.
const THUMB_GAP: f32 = 6.0;
/// Rows of thumbnails the "Show all" grid shows before it scrolls.
const THUMB_GRID_ROWS: f32 = 3.4;
/// Height of one row of the problem list (path line and cause line), in points.
const PROBLEM_ROW_HEIGHT: f32 = 38.0;
/// How long "Copied" shows beside the Copy button, in seconds.
const COPIED_SHOWN_SECS: f64 = 2.5;
/// Rows the problem and warning lists grow to before they scroll.
const PROBLEM_LIST_MAX_ROWS: usize = 8;

/// Draws the queue. Its cards' own answer buttons are hidden while a modal question is open
/// (the question has them).
pub fn show(ui: &mut egui::Ui, state: &UiState, commands: &mut Vec<Command>) {
    let queue = &state.queue;
    let answers = state.prompt.is_none();
    header(ui, queue, commands);
    ui.add_space(6.0);

    if queue.rows().is_empty() {
        let starts: Vec<&str> = kinds::ENTRIES.iter().map(|e| e.start_label()).collect();
        let text = match starts.as_slice() {
            [rest @ .., last] if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => starts.join(""),
        };
        ui.allocate_ui_with_layout(
            ui.available_size(),
            egui::Layout::centered_and_justified(egui::Direction::TopDown),
            |ui| {
                ui.label(
                    RichText::new(format!(
                        "No jobs yet.\nAdd files or folders on the left, then press {text}."
                    ))
                    .color(ui.visuals().weak_text_color())
                    .size(14.0),
                );
            },
        );
        return;
    }

    let waiting = queue.waiting_ids();
    let dragged = egui::DragAndDrop::payload::<crate::engine::JobId>(ui.ctx()).map(|id| *id);
    egui::ScrollArea::vertical()
        .id_salt("queue")
        .auto_shrink([false, false])
        .stick_to_bottom(true)
        .show(ui, |ui| {
            // F6 or the skip link asked for the queue: the selected card, else the first.
            let wanted = take_queue_focus_request(ui.ctx())
                .then(|| {
                    queue
                        .selected()
                        .or_else(|| queue.rows().first().map(|r| r.id))
                })
                .flatten();
            let mut previous: Option<(egui::Response, crate::engine::JobId)> = None;
            let mut focus_next = false;
            for row in queue.rows() {
                let place = waiting.iter().position(|&id| id == row.id);
                let card = CardContext {
                    selected: queue.selected() == Some(row.id),
                    answers,
                    dialog_open: state.dialog_open,
                    place,
                    waiting: waiting.len(),
                    dragged: dragged.filter(|&d| d != row.id && waiting.contains(&d)),
                };
                let response = job_card(ui, row, &card, &state.settings.kinds, commands);
                if wanted == Some(row.id) || std::mem::take(&mut focus_next) {
                    // Focus given after the card was drawn is not seen as gained: select here.
                    response.request_focus();
                    response.scroll_to_me(None);
                    commands.push(Command::SelectJob(row.id));
                } else if response.has_focus() {
                    // Up and Down go from card to card (egui's own arrow moves would land on
                    // the nearest button instead, or nowhere).
                    let (up, down) = ui.input_mut(|i| {
                        (
                            i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowUp),
                            i.consume_key(egui::Modifiers::NONE, egui::Key::ArrowDown),
                        )
                    });
                    if up || down {
                        ui.memory_mut(|m| m.move_focus(egui::FocusDirection::None));
                    }
                    if let Some((above, id)) = previous.as_ref().filter(|_| up) {
                        above.request_focus();
                        above.scroll_to_me(None);
                        commands.push(Command::SelectJob(*id));
                    }
                    focus_next = down;
                }
                previous = Some((response, row.id));
                ui.add_space(8.0);
            }
            widgets::keep_focus_in_view(ui);
        });
}

/// The egui memory key of a pending request to put the focus on the queue.
const QUEUE_FOCUS_KEY: &str = "queue-focus-request";

/// Asks the queue to take the keyboard focus (its selected card, else its first) when it is
/// next drawn: F6, or the skip link.
pub fn request_queue_focus(ctx: &egui::Context) {
    ctx.data_mut(|d| d.insert_temp(egui::Id::NULL.with(QUEUE_FOCUS_KEY), true));
}

/// Whether the focus was asked for (the request is taken).
fn take_queue_focus_request(ctx: &egui::Context) -> bool {
    ctx.data_mut(|d| d.remove_temp::<bool>(egui::Id::NULL.with(QUEUE_FOCUS_KEY)))
        .unwrap_or(false)
}

/// The "Queue" title with its counts, and the buttons for the whole queue.
fn header(ui: &mut egui::Ui, queue: &Queue, commands: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        let counts = queue.live_counts();
        let finished = queue.finished_count();
        let mut parts = Vec::new();
        if counts.running > 0 {
            parts.push(format!("{} running", counts.running));
        }
        if counts.waiting > 0 {
            parts.push(format!("{} waiting", counts.waiting));
        }
        if counts.paused > 0 {
            parts.push(format!("{} paused", counts.paused));
        }
        if finished > 0 {
            parts.push(format!("{finished} finished"));
        }
        let note = (!parts.is_empty()).then(|| parts.join(" · "));
        section_heading(ui, "Queue", note);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .add_enabled(queue.any_active(), egui::Button::new("Cancel all"))
                .on_hover_text("Stop every job and remove their partial outputs")
                .clicked()
            {
                commands.push(Command::CancelAll);
            }
            if queue.paused_count() > 0
                && ui
                    .button("Resume all")
                    .on_hover_text("Go on with every paused job")
                    .clicked()
            {
                commands.push(Command::ResumeAll);
            }
            if ui
                .add_enabled(queue.any_unpaused_active(), egui::Button::new("Pause all"))
                .on_hover_text(
                    "Pause every job: work in progress finishes its current piece, nothing \
                     new starts",
                )
                .clicked()
            {
                commands.push(Command::PauseAll);
            }
            if ui
                .add_enabled(finished > 0, egui::Button::new("Clear finished"))
                .clicked()
            {
                commands.push(Command::ClearFinished);
            }
        });
    });
}

/// What a card needs to know beyond its row.
struct CardContext {
    selected: bool,
    /// No modal question is open (the card's own answers show).
    answers: bool,
    dialog_open: bool,
    /// Its place among the jobs not started yet, if it is one.
    place: Option<usize>,
    /// How many jobs are not started yet.
    waiting: usize,
    /// Another waiting job being dragged (this card may take it).
    dragged: Option<crate::engine::JobId>,
}

/// Draws one card; its response (the whole card: a click or the focus selects the job).
fn job_card(
    ui: &mut egui::Ui,
    row: &JobRow,
    card: &CardContext,
    forms: &KindForms,
    commands: &mut Vec<Command>,
) -> egui::Response {
    let visuals = ui.visuals().clone();
    let stroke = if card.selected {
        egui::Stroke::new(1.5, theme::accent(&visuals))
    } else {
        theme::card_stroke(&visuals)
    };
    let frame = egui::Frame::new()
        .fill(theme::card_fill(&visuals))
        .stroke(stroke)
        .corner_radius(8)
        .inner_margin(egui::Margin::symmetric(14, 10));
    let scope = ui.scope_builder(
        // An id of its own, not one counted from the widgets before it: the plan above
        // changing as its preview arrives would give every card a new id, and the focused card
        // would lose the focus.
        egui::UiBuilder::new()
            .scope_id(egui::Id::NULL.with(("job-card", row.id.0)))
            .sense(egui::Sense::click()),
        |ui| {
            // Plain clicks on the card's text select the job (instead of starting a text selection).
            ui.style_mut().interaction.selectable_labels = false;
            frame.show(ui, |ui| {
                ui.set_width(ui.available_width());
                card_header(ui, row, card);
                match &row.report {
                    None => live_details(ui, row, card, commands),
                    Some(report) => finished_details(ui, row, report, card, commands),
                }
                if let Some(watch) = &row.watch {
                    watch_section(ui, row, watch, commands);
                }
                if let Some(plan) = &row.plan {
                    for warning in &plan.warnings {
                        ui.add(
                            egui::Label::new(
                                RichText::new(warning.to_string())
                                    .small()
                                    .color(theme::warning(ui.visuals())),
                            )
                            .wrap(),
                        );
                    }
                }
                if card.answers
                    && let Some(form) = forms.get(row.kind)
                {
                    form.card_extras(ui, row, commands);
                }
            });
        },
    );
    let response = &scope.response;
    let state_words = match row.live_state() {
        Some(live) => live.label(),
        None => row.outcome_words().unwrap_or_default(),
    };
    response.widget_info(|| {
        egui::WidgetInfo::selected(
            egui::accesskit::Role::ListItem,
            true,
            card.selected,
            format!("Job {} ({}): {state_words}", row.name, kind_word(row.kind)),
        )
    });
    if response.clicked() {
        // A clicked card takes the focus, so the arrow keys go on from it.
        response.request_focus();
    }
    if response.clicked() || response.gained_focus() {
        commands.push(Command::SelectJob(row.id));
    }
    if response.has_focus() {
        ui.painter().rect_stroke(
            response.rect.expand(2.0),
            10.0,
            ui.visuals().selection.stroke,
            egui::StrokeKind::Outside,
        );
    }
    // A waiting job dragged over this waiting card: where it would go, and the drop.
    if let (Some(dragged), Some(_)) = (card.dragged, card.place) {
        if response
            .dnd_hover_payload::<crate::engine::JobId>()
            .is_some()
        {
            let line_y = match ui.ctx().pointer_interact_pos() {
                Some(pointer) if pointer.y < response.rect.center().y => response.rect.top() - 4.0,
                _ => response.rect.bottom() + 4.0,
            };
            ui.painter().hline(
                response.rect.x_range(),
                line_y,
                egui::Stroke::new(2.5, theme::accent(ui.visuals())),
            );
        }
        if let Some(payload) = response.dnd_release_payload::<crate::engine::JobId>()
            && *payload == dragged
        {
            commands.push(Command::MoveQueuedTo {
                job: dragged,
                to: row.id,
            });
        }
    }
    scope.response
}

/// "archive" or "thumbnails", for a card's accessible name.
fn kind_word(kind: JobKind) -> &'static str {
    kind.noun
}

fn kind_badge(ui: &mut egui::Ui, kind: JobKind) {
    let text = kind.badge;
    let color = kinds::badge_color(ui.visuals(), kind);
    egui::Frame::new()
        .fill(color.gamma_multiply(0.16))
        .corner_radius(4)
        .inner_margin(egui::Margin::symmetric(6, 1))
        .show(ui, |ui| {
            ui.label(RichText::new(text).small().strong().color(color));
        })
        .response
        .on_hover_text(kind.label());
}

/// The colour of a card's state word.
fn state_color(visuals: &egui::Visuals, row: &JobRow) -> egui::Color32 {
    match row.live_state() {
        Some(LiveState::Queued | LiveState::WaitingForWorker) => visuals.weak_text_color(),
        Some(LiveState::Paused(_)) => theme::warning(visuals),
        Some(_) => theme::accent(visuals),
        // Nothing made is not a green "done".
        None if row.made_nothing() => visuals.weak_text_color(),
        None => theme::state_color(visuals, row.state()),
    }
}

fn card_header(ui: &mut egui::Ui, row: &JobRow, card: &CardContext) {
    ui.horizontal(|ui| {
        if card.place.is_some() && card.waiting > 1 {
            let handle = widgets::drag_handle(ui, &format!("Drag {} to reorder", row.name));
            if handle.drag_started() {
                egui::DragAndDrop::set_payload(ui.ctx(), row.id);
            }
            if handle.dragged() {
                drag_ghost(ui, &row.name);
            }
        }
        kind_badge(ui, row.kind);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let color = state_color(ui.visuals(), row);
            match row.live_state() {
                // The disk-full message gets its own wrapped line below.
                Some(LiveState::Paused(_)) => {
                    ui.label(RichText::new("paused").strong().color(color));
                }
                Some(live) => {
                    ui.label(RichText::new(live.label()).color(color));
                }
                None => {
                    let words = row.outcome_words().unwrap_or_default();
                    // The outcome gets its own wrapped line below when long (a failure's cause).
                    if words.len() <= 40 {
                        ui.label(RichText::new(words).strong().color(color));
                    }
                }
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.add(egui::Label::new(RichText::new(&row.name).strong().size(14.5)).truncate())
                    .on_hover_text(row.output.display().to_string());
            });
        });
    });
}

/// The name of a job being dragged, under the pointer.
fn drag_ghost(ui: &egui::Ui, name: &str) {
    let Some(pointer) = ui.ctx().pointer_interact_pos() else {
        return;
    };
    let painter = ui.ctx().layer_painter(egui::LayerId::new(
        egui::Order::Tooltip,
        egui::Id::unique("queue-drag-ghost"),
    ));
    let visuals = ui.visuals();
    let galley = painter.layout_no_wrap(
        format!("Move {name}"),
        egui::TextStyle::Body.resolve(ui.style()),
        visuals.strong_text_color(),
    );
    let rect = egui::Rect::from_min_size(
        pointer + egui::vec2(12.0, 8.0),
        galley.size() + egui::vec2(16.0, 8.0),
    );
    painter.rect(
        rect,
        6.0,
        theme::card_fill(visuals),
        egui::Stroke::new(1.5, theme::accent(visuals)),
        egui::StrokeKind::Inside,
    );
    painter.galley(
        rect.min + egui::vec2(8.0, 4.0),
        galley,
        egui::Color32::WHITE,
    );
}

fn live_details(ui: &mut egui::Ui, row: &JobRow, card: &CardContext, commands: &mut Vec<Command>) {
    let Some(live) = row.live_state() else {
        return;
    };
    let progress = &row.progress;
    let visuals = ui.visuals().clone();
    let percent = format::percent(progress.fraction(), false);
    let (bar_text, fill) = match &live {
        LiveState::Queued => (
            match card.place {
                Some(0) => "queued · starts next".to_owned(),
                Some(place) => format!("queued · {} ahead of it", format::count(place as u64)),
                None => "queued".to_owned(),
            },
            visuals.weak_text_color(),
        ),
        LiveState::WaitingForWorker => (
            format!("{percent} · waiting for a worker"),
            visuals.weak_text_color(),
        ),
        LiveState::Scanning => ("scanning the inputs…".to_owned(), theme::accent(&visuals)),
        LiveState::Planning => ("planning every output…".to_owned(), theme::accent(&visuals)),
        LiveState::Running => (percent.clone(), theme::accent(&visuals)),
        LiveState::Paused(_) if !row.started => (
            "paused · not started yet".to_owned(),
            theme::warning(&visuals),
        ),
        LiveState::Paused(_) => (format!("{percent} · paused"), theme::warning(&visuals)),
    };
    widgets::progress_bar(ui, progress.fraction(), fill, &bar_text);
    if let LiveState::Paused(reason @ PauseReason::DiskFull { .. }) = &live {
        ui.add(
            egui::Label::new(
                RichText::new(capitalized(&reason.to_string()))
                    .color(theme::warning(&visuals))
                    .strong(),
            )
            .wrap(),
        );
    }

    let mut parts = Vec::new();
    let (item, items) = row.kind.item_noun;
    match row.kind.counts {
        Counts::Bytes => {
            if progress.bytes_total > 0 {
                parts.push(format!(
                    "{} of {}",
                    format::bytes(progress.bytes_done),
                    format::bytes(progress.bytes_total)
                ));
            }
            if progress.items_total > 0 {
                parts.push(format!(
                    "{} of {}",
                    format::count(progress.items_done),
                    format::plural(progress.items_total, item, items)
                ));
            }
        }
        // Counted (and timed) by items: images, not bytes.
        Counts::Items if progress.items_total > 0 => parts.push(format!(
            "{} of {}",
            format::count(progress.items_done),
            format::plural(progress.items_total, item, items)
        )),
        Counts::Items => {}
    }
    // Speed and time left only for a job a worker runs now.
    if live == LiveState::Running {
        match row.kind.counts {
            Counts::Bytes => parts.push(format::speed(progress.bytes_per_sec)),
            Counts::Items => parts.push(format::rate(progress.items_per_sec, items)),
        }
        if let Some(eta) = progress.eta {
            parts.push(format::eta(eta));
        }
    }
    if progress.errors > 0 {
        parts.push(format::plural(progress.errors, "error", "errors"));
    }
    ui.horizontal(|ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            live_controls(ui, row, &live, card, commands);
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.add(egui::Label::new(parts.join("  ·  ")).truncate());
            });
        });
    });
    if let Some(current) = &progress.current_item
        && live == LiveState::Running
    {
        ui.add(
            egui::Label::new(RichText::new(format!("Now: {current}")).small().weak()).truncate(),
        );
    }
}

/// The buttons of a job that has not ended, right to left (and in Tab order): Pause or Resume,
/// Cancel, Stop after current (kinds that can stop early), and for a job not started yet Down,
/// Up and Run next.
fn live_controls(
    ui: &mut egui::Ui,
    row: &JobRow,
    live: &LiveState,
    card: &CardContext,
    commands: &mut Vec<Command>,
) {
    let name = &row.name;
    if live.is_paused() {
        let resume = egui::Button::new(RichText::new("Resume").color(egui::Color32::WHITE))
            .fill(theme::accent(ui.visuals()));
        if ui
            .add(resume)
            .accessible_name(format!("Resume {name}"))
            .on_hover_text("Go on where it stopped; nothing is done twice")
            .clicked()
        {
            commands.push(Command::Resume(row.id));
        }
    } else if ui
        .button("Pause")
        .accessible_name(format!("Pause {name}"))
        .on_hover_text(
            "Work in progress finishes its current piece, then waits; nothing new starts",
        )
        .clicked()
    {
        commands.push(Command::Pause(row.id));
    }
    // Cancel after Pause: the Tab key reaches the harmless button first.
    if ui
        .button("Cancel")
        .accessible_name(format!("Cancel {name}"))
        .on_hover_text("Stop this job and remove its partial output")
        .clicked()
    {
        commands.push(Command::Cancel(row.id));
    }
    let items = row.kind.item_noun.1;
    if row.kind.can_stop_early
        && row.started
        && ui
            .button("Stop after current")
            .accessible_name(format!("Stop {name} after the current {items}"))
            .on_hover_text(format!(
                "The {items} in progress are finished, nothing new starts; the {} made so far \
                 are kept",
                row.kind.output_noun.1
            ))
            .clicked()
    {
        commands.push(Command::StopAfterCurrent(row.id));
    }
    // Order controls only when there is an order to change.
    let Some(place) = card.place.filter(|_| card.waiting > 1) else {
        return;
    };
    ui.add_space(6.0);
    let last = place + 1 >= card.waiting;
    let down = ui.add_enabled_ui(!last, |ui| {
        widgets::icon_button(
            ui,
            widgets::Icon::Down,
            &format!("Move {name} down"),
            "Start it after the next waiting job",
        )
    });
    if down.inner.clicked() {
        commands.push(Command::MoveQueued(row.id, QueueMove::Down));
    }
    let up = ui.add_enabled_ui(place > 0, |ui| {
        widgets::icon_button(
            ui,
            widgets::Icon::Up,
            &format!("Move {name} up"),
            "Start it before the waiting job ahead of it",
        )
    });
    if up.inner.clicked() {
        commands.push(Command::MoveQueued(row.id, QueueMove::Up));
    }
    if ui
        .add_enabled(place > 0, egui::Button::new("Run next"))
        .accessible_name(format!("Run {name} next"))
        .on_hover_text("Start it as soon as a worker is free, before the other waiting jobs")
        .on_disabled_hover_text("It starts next already")
        .clicked()
    {
        commands.push(Command::MoveQueued(row.id, QueueMove::Next));
    }
}

fn capitalized(text: &str) -> String {
    super::super::notify::capitalize(text)
}

fn finished_details(
    ui: &mut egui::Ui,
    row: &JobRow,
    report: &JobReport,
    card: &CardContext,
    commands: &mut Vec<Command>,
) {
    let visuals = ui.visuals().clone();
    let words = row.outcome_words().unwrap_or_default();
    if words.len() > 40 {
        ui.add(
            egui::Label::new(
                RichText::new(&words)
                    .strong()
                    .color(state_color(&visuals, row)),
            )
            .wrap(),
        );
    }
    let mut parts = vec![format!(
        "took {}",
        format::duration(report.progress.elapsed)
    )];
    parts.extend(row.card_summary(report));
    if !report.outputs.is_empty() || report.archive.is_some() {
        parts.push(format!("in {}", row.folder_to_open().display()));
    }
    ui.horizontal(|ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            finished_controls(ui, row, commands);
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.add(egui::Label::new(RichText::new(parts.join("  ·  ")).weak()).truncate());
            });
        });
    });

    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        workflow_controls(ui, row, commands);
    });

    if !report.problems.is_empty() {
        problem_list(ui, row, report, card, commands);
    }
    if !report.warnings.is_empty() {
        warning_list(ui, row, report);
    }
    if !row.strip.slots.is_empty() {
        thumbnail_strip(ui, row, commands);
    }
}

/// A finished card's "Copy as command" (a whole job: a retry of some files or a chained job has
/// no line) and "Keep watching" (a whole job that fills a folder, not watching yet).
fn workflow_controls(ui: &mut egui::Ui, row: &JobRow, commands: &mut Vec<Command>) {
    let name = &row.name;
    if row.spec.only().is_empty()
        && !row.spec.inputs().is_empty()
        && ui
            .button("Copy as command")
            .accessible_name(format!("Copy the command line of {name}"))
            .on_hover_text("Copy the shrinkwrap command line that does this job again")
            .clicked()
    {
        commands.push(Command::CopyCardCommand(row.id));
    }
    if row.spec.only().is_empty()
        && !row.spec.inputs().is_empty()
        && ui
            .button("Save as job file…")
            .accessible_name(format!("Save {name} as a job file"))
            .on_hover_text("Save this job as a .toml job file (run it with shrinkwrap run)")
            .clicked()
    {
        commands.push(Command::SaveJobFile(crate::ui::dialogs::JobFileOf::Card(
            row.id,
        )));
    }
    if row.watch.is_none()
        && crate::ui::watching::can_watch(&row.spec)
        && ui
            .button("Keep watching")
            .accessible_name(format!("Keep watching the inputs of {name}"))
            .on_hover_text(
                "Watch the inputs: each new or changed file, once it has finished arriving, \
                 goes through this job's settings",
            )
            .clicked()
    {
        commands.push(Command::KeepWatching(row.id));
    }
}

/// Open folder, and Retry failed or Run again when they apply (right to left).
fn finished_controls(ui: &mut egui::Ui, row: &JobRow, commands: &mut Vec<Command>) {
    let name = &row.name;
    let open = ui
        .button("Open folder")
        .accessible_name(format!("Open the folder of {name}"))
        .on_hover_text(format!(
            "Show {} in the file manager",
            row.folder_to_open().display()
        ));
    if open.clicked() {
        commands.push(Command::OpenFolder(row.folder_to_open().to_path_buf()));
    }
    if row.retry_spec().is_some() {
        let failed = row.failed_files().len() as u64;
        let (item, items) = row.kind.item_noun;
        if ui
            .button("Retry failed")
            .accessible_name(format!("Retry the failed {items} of {name}"))
            .on_hover_text(format!(
                "A new job of just the {} that failed, with the same settings",
                format::plural(failed, item, items)
            ))
            .clicked()
        {
            commands.push(Command::RetryFailed(row.id));
        }
    }
    if row.run_again_spec().is_some()
        && ui
            .button("Run again")
            .accessible_name(format!("Run {name} again"))
            .on_hover_text("Queue the same job again, with the same settings")
            .clicked()
    {
        commands.push(Command::RunAgain(row.id));
    }
}

/// A watching card: that it watches (since when, how), what its watch jobs made and when, and
/// Stop watching.
fn watch_section(
    ui: &mut egui::Ui,
    row: &JobRow,
    watch: &crate::ui::watching::CardWatch,
    commands: &mut Vec<Command>,
) {
    let clock = |t: std::time::SystemTime| {
        chrono::DateTime::<chrono::Local>::from(t)
            .format("%H:%M:%S")
            .to_string()
    };
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        let accent = theme::accent(ui.visuals());
        let how = match watch.events {
            None => "taking stock of the inputs…",
            Some(true) => "new and changed files are taken once they have finished arriving",
            Some(false) => "looking every second (no file-system events here)",
        };
        ui.label(
            RichText::new(format!("Watching since {}", clock(watch.since)))
                .strong()
                .color(accent),
        )
        .on_hover_text(how);
        if watch.busy {
            ui.spinner();
        }
        let stop = ui
            .button("Stop watching")
            .accessible_name(format!("Stop watching the inputs of {}", row.name));
        if stop.clicked() {
            commands.push(Command::StopWatching(row.id));
        }
    });
    let (one, many) = row.kind.output_noun;
    let weak = ui.visuals().weak_text_color();
    if watch.made_count == 0 {
        ui.label(
            RichText::new(format!("No {many} made since"))
                .small()
                .color(weak),
        );
    } else {
        ui.label(
            RichText::new(format!(
                "Made since: {}",
                format::plural(watch.made_count, one, many)
            ))
            .small(),
        );
        for (path, when) in watch.made.iter().rev().take(5) {
            ui.add(
                egui::Label::new(
                    RichText::new(format!("{}  {}", clock(*when), path.display()))
                        .small()
                        .color(weak),
                )
                .truncate(),
            );
        }
    }
    if let Some(problem) = &watch.problem {
        ui.add(
            egui::Label::new(
                RichText::new(problem)
                    .small()
                    .color(theme::warning(ui.visuals())),
            )
            .wrap(),
        );
    }
}

/// The job's warnings (made, but with a note: "decoded without its end marker"), each naming
/// its path, as the command line lists them.
fn warning_list(ui: &mut egui::Ui, row: &JobRow, report: &JobReport) {
    let count = report.warnings.len();
    let title = format!(
        "Show {}",
        format::plural(count as u64, "warning", "warnings")
    );
    egui::CollapsingHeader::new(title)
        .id_salt(("warnings", row.id.0))
        .show(ui, |ui| {
            let height = problem_list_height(ui, count);
            let warning = theme::warning(ui.visuals());
            egui::ScrollArea::vertical()
                .id_salt(("warning-list", row.id.0))
                .max_height(height)
                .min_scrolled_height(height)
                .auto_shrink([false, true])
                .show_rows(ui, PROBLEM_ROW_HEIGHT, count, |ui, rows| {
                    for index in rows {
                        let Some(item) = report.warnings.get(index) else {
                            break;
                        };
                        let path = item.path.display().to_string();
                        let cause = item.cause.to_string();
                        problem_row(ui, "warning", warning, &path, &cause);
                    }
                });
        });
}

fn problem_list(
    ui: &mut egui::Ui,
    row: &JobRow,
    report: &JobReport,
    card: &CardContext,
    commands: &mut Vec<Command>,
) {
    let errors = report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Error)
        .count() as u64;
    let skipped = report.problems.len() as u64 - errors;
    let title = match (errors, skipped) {
        (e, 0) => format!("Show {}", format::plural(e, "error", "errors")),
        (0, s) => format!("Show {s} skipped"),
        (e, s) => format!(
            "Show {} and {s} skipped",
            format::plural(e, "error", "errors")
        ),
    };
    egui::CollapsingHeader::new(title)
        .id_salt(("problems", row.id.0))
        .show(ui, |ui| {
            let mut explanation = Vec::new();
            if errors > 0 {
                explanation.push(format!(
                    "{} failed",
                    format::plural(errors, "item", "items")
                ));
            }
            if skipped > 0 {
                explanation.push(format!(
                    "{} skipped on purpose (not errors)",
                    format::plural(skipped, "item", "items")
                ));
            }
            ui.horizontal(|ui| {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    for format in [ExportFormat::Json, ExportFormat::Csv] {
                        let export = ui
                            .add_enabled(
                                !card.dialog_open,
                                egui::Button::new(format!("Export {}…", format.label())),
                            )
                            .accessible_name(format!(
                                "Export the problems of {} as {}",
                                row.name,
                                format.label()
                            ))
                            .on_hover_text(format!(
                                "Save the whole list as a {} file",
                                format.label()
                            ));
                        if export.clicked() {
                            commands.push(Command::ExportProblems(row.id, format));
                        }
                    }
                    // "Copied" shows beside the button for a moment after a click.
                    let copied_at = ui.make_persistent_id(("problems-copied", row.id.0));
                    if ui
                        .button("Copy")
                        .accessible_name(format!("Copy the problems of {}", row.name))
                        .on_hover_text("Copy the whole list as text")
                        .clicked()
                    {
                        commands.push(Command::CopyProblems(row.id));
                        let now = ui.input(|i| i.time);
                        ui.data_mut(|d| d.insert_temp(copied_at, now));
                    }
                    let now = ui.input(|i| i.time);
                    if let Some(at) = ui.data(|d| d.get_temp::<f64>(copied_at)) {
                        let left = COPIED_SHOWN_SECS - (now - at);
                        if left > 0.0 {
                            ui.label(RichText::new("Copied").color(theme::success(ui.visuals())));
                            ui.ctx()
                                .request_repaint_after(std::time::Duration::from_secs_f64(left));
                        } else {
                            ui.data_mut(|d| d.remove::<f64>(copied_at));
                        }
                    }
                    ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                        ui.label(RichText::new(explanation.join(" · ")).weak());
                    });
                });
            });
            let count = row.problem_order.len();
            let height = problem_list_height(ui, count);
            let danger = theme::danger(ui.visuals());
            let warning = theme::warning(ui.visuals());
            egui::ScrollArea::vertical()
                .id_salt(("problem-list", row.id.0))
                .max_height(height)
                .min_scrolled_height(height)
                .auto_shrink([false, true])
                .show_rows(ui, PROBLEM_ROW_HEIGHT, count, |ui, rows| {
                    for index in rows {
                        let Some(problem) = row
                            .problem_order
                            .get(index)
                            .and_then(|&i| report.problems.get(i))
                        else {
                            break;
                        };
                        let (word, color) = match problem.kind {
                            ProblemKind::Error => ("error", danger),
                            ProblemKind::Skipped => ("skipped", warning),
                        };
                        let path = if problem.path.as_os_str().is_empty() {
                            "(job)".to_owned()
                        } else {
                            problem.path.display().to_string()
                        };
                        let cause = problem.cause.to_string();
                        problem_row(ui, word, color, &path, &cause);
                    }
                });
        });
}

/// "128, 256 and 512 px".
/// "64 and 160 px" for square boxes, "320×200 and 640×400 px" when any is not square.
fn sizes_words(sizes: &[ImageBox]) -> String {
    let squares = sizes.iter().all(|b| b.is_square());
    let words: Vec<String> = sizes
        .iter()
        .map(|b| {
            if squares {
                format::count(u64::from(b.width_px))
            } else {
                format!("{}\u{d7}{}", b.width_px, b.height_px)
            }
        })
        .collect();
    match words.as_slice() {
        [rest @ .., last] if !rest.is_empty() => format!("{} and {last} px", rest.join(", ")),
        _ => format!("{} px", words.join("")),
    }
}

/// Draws one thumbnail cell (one source, at the largest of `sizes` made of it); a click opens
/// the image.
fn thumbnail_cell(
    ui: &mut egui::Ui,
    slot: &ThumbSlot,
    path: &std::path::Path,
    sizes: &[ImageBox],
    commands: &mut Vec<Command>,
) {
    let (rect, response) = ui.allocate_exact_size(THUMB_CELL, egui::Sense::click());
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let name = if sizes.len() > 1 {
        format!("{file_name} (made at {})", sizes_words(sizes))
    } else {
        file_name.clone()
    };
    response.widget_info(|| egui::WidgetInfo::labeled(egui::accesskit::Role::Button, true, &name));
    if ui.is_rect_visible(rect) {
        let visuals = ui.visuals();
        let painter = ui.painter();
        match slot {
            ThumbSlot::Shown(texture) => {
                let [w, h] = texture.size();
                let scale = (rect.width() / w.max(1) as f32).min(rect.height() / h.max(1) as f32);
                let size = egui::vec2(w as f32 * scale, h as f32 * scale);
                let image_rect = egui::Rect::from_center_size(rect.center(), size);
                egui::Image::from_texture(egui::load::SizedTexture::from_handle(texture))
                    .corner_radius(4)
                    .paint_at(ui, image_rect);
            }
            ThumbSlot::NotAsked | ThumbSlot::Loading | ThumbSlot::Failed(_) => {
                painter.rect_filled(rect, 4.0, visuals.faint_bg_color);
                let text = if matches!(slot, ThumbSlot::Failed(_)) {
                    file_name.as_str()
                } else {
                    "…"
                };
                painter.text(
                    rect.center(),
                    egui::Align2::CENTER_CENTER,
                    text,
                    egui::TextStyle::Small.resolve(ui.style()),
                    visuals.weak_text_color(),
                );
            }
        }
        if response.hovered() || response.has_focus() {
            ui.painter().rect_stroke(
                rect,
                4.0,
                egui::Stroke::new(2.0, theme::accent(ui.visuals())),
                egui::StrokeKind::Outside,
            );
        }
    }
    let hint = match slot {
        ThumbSlot::Failed(why) => format!("{name}\n(cannot be shown here: {why})\nClick to open"),
        _ => format!("{name}\nClick to open"),
    };
    if response.on_hover_text(hint).clicked() {
        commands.push(Command::OpenFile(path.to_path_buf()));
    }
}

fn thumbnail_strip(ui: &mut egui::Ui, row: &JobRow, commands: &mut Vec<Command>) {
    let paths = row.image_paths();
    let sizes = &row.strip.sizes;
    let no_sizes: &[ImageBox] = &[];
    let total = row.strip.slots.len();
    ui.add_space(2.0);
    // Several sizes of each image: the strip shows each once, and says so.
    if let Some(made) = sizes.iter().filter(|s| s.len() > 1).max_by_key(|s| s.len()) {
        ui.label(
            RichText::new(format!(
                "Each image once, at its largest size (made at {})",
                sizes_words(made)
            ))
            .weak()
            .small(),
        );
    }
    let columns =
        (((ui.available_width() + THUMB_GAP) / (THUMB_CELL.x + THUMB_GAP)).floor() as usize).max(1);
    let ask_unasked = |range: std::ops::Range<usize>, commands: &mut Vec<Command>| {
        if row.strip.slots[range.clone()]
            .iter()
            .any(|s| matches!(s, ThumbSlot::NotAsked))
        {
            commands.push(Command::LoadThumbnails(row.id, range));
        }
    };
    if row.strip.expanded {
        // Every thumbnail, in a grid that scrolls; only the rows in view are laid out and
        // loaded.
        let row_count = total.div_ceil(columns);
        let row_height = THUMB_CELL.y + THUMB_GAP;
        egui::ScrollArea::vertical()
            .id_salt(("thumbnails", row.id.0))
            .max_height(row_height * THUMB_GRID_ROWS)
            // Its own height wherever the card is in the queue (see `problem_list_height`).
            .min_scrolled_height(row_height * THUMB_GRID_ROWS.min(row_count as f32))
            .auto_shrink([false, true])
            .show_rows(ui, THUMB_CELL.y, row_count, |ui, rows| {
                ui.spacing_mut().item_spacing = egui::vec2(THUMB_GAP, THUMB_GAP);
                let first = rows.start * columns;
                let end = (rows.end * columns).min(total);
                if first < end {
                    ask_unasked(first..end, commands);
                }
                for grid_row in rows {
                    ui.horizontal(|ui| {
                        let start = grid_row * columns;
                        for index in start..(start + columns).min(total) {
                            if let (Some(slot), Some(path)) =
                                (row.strip.slots.get(index), paths.get(index))
                            {
                                let made = sizes.get(index).map_or(no_sizes, Vec::as_slice);
                                thumbnail_cell(ui, slot, path, made, commands);
                            }
                        }
                    });
                }
                widgets::keep_focus_in_view(ui);
            });
    } else {
        let shown = total.min(STRIP_MAX_THUMBNAILS);
        ask_unasked(0..shown, commands);
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing = egui::vec2(THUMB_GAP, THUMB_GAP);
            for (index, (slot, path)) in row.strip.slots.iter().zip(paths).take(shown).enumerate() {
                let made = sizes.get(index).map_or(no_sizes, Vec::as_slice);
                thumbnail_cell(ui, slot, path, made, commands);
            }
        });
    }
    if total > STRIP_MAX_THUMBNAILS {
        let (text, all) = if row.strip.expanded {
            ("Show fewer".to_owned(), false)
        } else {
            (format!("Show all {}", format::count(total as u64)), true)
        };
        let (output, outputs) = row.kind.output_noun;
        let button = ui
            .button(text)
            .accessible_name(if all {
                format!("Show all {outputs} of {}", row.name)
            } else {
                format!("Show fewer {outputs} of {}", row.name)
            })
            .on_hover_text(if all {
                format!("Every {output} in a grid that scrolls")
            } else {
                "Back to the first few".to_owned()
            });
        if button.clicked() {
            commands.push(Command::ShowAllThumbnails(row.id, all));
        }
    }
}

/// The height of a problem or warning list of `count` rows: all of them up to
/// [`PROBLEM_LIST_MAX_ROWS`], then it scrolls. Its own height, whatever room the queue has left
/// below the card: a list inside the queue's scroll area would otherwise get egui's minimum
/// (64 points, a row and a half) on every card below the queue's first screen.
fn problem_list_height(ui: &egui::Ui, count: usize) -> f32 {
    let row = PROBLEM_ROW_HEIGHT + ui.spacing().item_spacing.y;
    count.clamp(1, PROBLEM_LIST_MAX_ROWS) as f32 * row
}

/// One row of a card's problem list: the word ("error", "warning", "skipped") in its colour and
/// the path on the first line, the cause below it; both cut to the width, whole on hover.
fn problem_row(ui: &mut egui::Ui, word: &str, color: egui::Color32, path: &str, cause: &str) {
    ui.allocate_ui_with_layout(
        egui::vec2(ui.available_width(), PROBLEM_ROW_HEIGHT),
        egui::Layout::top_down(egui::Align::Min),
        |ui| {
            ui.set_height(PROBLEM_ROW_HEIGHT);
            ui.spacing_mut().item_spacing.y = 1.0;
            ui.horizontal(|ui| {
                ui.add_sized(
                    [54.0, 16.0],
                    egui::Label::new(RichText::new(word).small().strong().color(color)),
                );
                ui.add(egui::Label::new(RichText::new(path).monospace()).truncate())
                    .on_hover_text(path);
            });
            ui.horizontal(|ui| {
                ui.add_space(62.0);
                ui.add(egui::Label::new(RichText::new(cause).color(color)).truncate())
                    .on_hover_text(cause);
            });
        },
    );
}
