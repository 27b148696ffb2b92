//! Classroom exercises in the page: the list with the student's progress, and the pane
//! of the exercise open (instructions, goals and their check, hints, the explanation
//! once solved, the submit link, and the teacher's locked link).

use super::markdown;
use crate::library::EXERCISES;
use crate::state::{Action, ExerciseRun, Progress, Status};
use web_sys::HtmlInputElement;
use yew::prelude::*;
use zoolab_core::scenario::classroom::{Control, Lock};

/// A status as text and shape (never colour alone).
pub fn status_mark(s: Option<Status>) -> (&'static str, &'static str, &'static str) {
    match s {
        Some(Status::Solved) => ("✓", "solved", "solved"),
        Some(Status::Attempted) => ("◐", "attempted", "attempted, not solved yet"),
        None => ("○", "new", "not tried yet"),
    }
}

/// Properties of the [`exercise_list`].
pub struct ListProps {
    /// The student's progress.
    pub progress: Progress,
    /// The exercise open, if any.
    pub current: Option<String>,
    /// Whether the page is locked to one exercise (the list is then hidden).
    pub locked: bool,
    /// Where opening goes.
    pub on_action: Callback<Action>,
}

/// Every built-in exercise, easiest first, with the student's progress.
/// A plain function, not a component: a component's machinery is about 3 KB of the
/// bundle each, and this is cheap to draw again with the App (BENCHMARKS.md, session 5).
pub fn exercise_list(props: &ListProps) -> Html {
    if props.locked {
        return html! {};
    }
    let solved =
        EXERCISES.iter().filter(|(n, _, _)| props.progress.status(n) == Some(Status::Solved)).count();
    html! {
        <details class="panel exercises" id="exercises" open={props.current.is_none()}>
            <summary title="Classroom exercises: a goal to reach in a prepared world, checked automatically">
                { format!("Exercises — {solved} of {} solved", EXERCISES.len()) }
            </summary>
            <ul>
                { for EXERCISES.iter().map(|(name, title, level)| {
                    let (mark, class, help) = status_mark(props.progress.status(name));
                    let cb = props.on_action.clone();
                    let n = name.to_string();
                    let onclick = Callback::from(move |_| cb.emit(Action::Open(crate::state::Source::Exercise(n.clone()))));
                    let current = props.current.as_deref() == Some(*name);
                    html! {
                        <li class={classes!(class, current.then_some("current"))}>
                            <button data-exercise={*name} {onclick} title={format!("Open this exercise ({help})")}>
                                <span class="mark" aria-label={help}>{ mark }</span>
                                { format!(" {title} ") }
                                <span class="level" title="difficulty: 1 first steps … 5 hard">{ format!("L{level}") }</span>
                            </button>
                        </li>
                    }
                }) }
            </ul>
        </details>
    }
}

/// Properties of the [`exercise_pane`].
pub struct PaneProps {
    /// The exercise open.
    pub run: ExerciseRun,
    /// The teacher's lock of the run, if any.
    pub lock: Option<Lock>,
    /// Where the buttons go.
    pub on_action: Callback<Action>,
}

/// The controls a lock leaves, in words.
pub fn lock_words(lock: &Lock) -> String {
    let words: Vec<&str> = lock.allow.iter().map(|c| c.word()).collect();
    if words.is_empty() {
        "the clock (play, step, run)".into()
    } else {
        format!("the clock (play, step, run) and {}", words.join(", "))
    }
}

/// The exercise open: what to do, the goals, Check, hints, Submit.
/// A plain function, not a component (about 3 KB of the bundle each): its `on_action` is
/// a new callback at every render of the App, so as a component it was drawn again
/// every time anyway.
pub fn exercise_pane(props: &PaneProps) -> Html {
    let run = &props.run;
    let ex = &run.exercise;
    let emit = |a: Action| {
        let cb = props.on_action.clone();
        Callback::from(move |_| cb.emit(a.clone()))
    };
    let graded = run.grade.as_ref().and_then(|g| g.as_ref().ok());
    let verdict = match &run.grade {
        None => {
            html! { <p class="verdict unchecked" id="verdict">{ "○ Not checked yet: play, then Check." }</p> }
        }
        Some(Err(e)) => {
            html! { <p class="verdict failed" id="verdict" role="status">{ format!("✗ Cannot grade this run: {e}") }</p> }
        }
        Some(Ok(g)) if g.solved() => html! {
            <p class="verdict solved" id="verdict" role="status">{ format!("✓ Solved — all {} goals hold.", g.goals.len()) }</p>
        },
        Some(Ok(g)) => html! {
            <p class="verdict failed" id="verdict" role="status">{ format!("✗ Not yet: {} of {} goals hold.", g.passed(), g.goals.len()) }</p>
        },
    };
    html! {
        <section class="panel exercise" id="exercise" aria-label="exercise">
            <h2>
                { ex.title.clone() }
                <span class="level" title="difficulty: 1 first steps … 5 hard">{ format!(" · level {}", ex.level) }</span>
            </h2>
            <div class="instructions" id="instructions">{ markdown::render(&ex.instructions) }</div>
            if let Some(lock) = &props.lock {
                <p class="lock-note" id="lock-note" title="Your teacher's link fixes the world: topology, seed and network">
                    { format!("🔒 Locked by your teacher: you may use {}.", lock_words(lock)) }
                </p>
            }
            <h3>{ "Goals" }</h3>
            <ul class="goals" id="goals">
                { for ex.goals.iter().enumerate().map(|(i, goal)| {
                    let result = graded.and_then(|g| g.goals.get(i));
                    let (mark, class) = match result {
                        Some(r) if r.passed => ("✓", "pass"),
                        Some(_) => ("✗", "fail"),
                        None => ("○", "unchecked"),
                    };
                    html! {
                        <li class={class} data-goal={i.to_string()}>
                            <span class="mark">{ mark }</span>{ " " }<code>{ goal.expect.clone() }</code>
                            <div class="why">{ goal.why.clone() }</div>
                            if let Some(r) = result {
                                <div class="detail">{ format!("{}: {}", if r.passed { "holds" } else { "fails" }, r.detail) }</div>
                            }
                        </li>
                    }
                }) }
                if let Some(v) = graded.and_then(|g| g.violation.clone()) {
                    <li class="fail"><span class="mark">{ "✗" }</span>{ format!(" invariant broken: {v}") }</li>
                }
            </ul>
            { verdict }
            <div class="exercise-actions">
                <button id="check" class="primary" onclick={emit(Action::Check)}
                        title="Run your attempt (the setup plus everything you did) and evaluate each goal at its end">{ "Check" }</button>
                <button id="hint" disabled={run.hints_shown >= ex.hints.len()} onclick={emit(Action::Hint)}
                        title="Reveal the next hint">{ format!("Hint ({} of {})", run.hints_shown, ex.hints.len()) }</button>
                <button id="submit" onclick={emit(Action::Submit)}
                        title="Check, then copy a link holding your attempt and this exercise's name, for your teacher (zoolab grade reads it)">{ "Submit link" }</button>
            </div>
            if run.hints_shown > 0 {
                <ol class="hints" id="hints">
                    { for ex.hints.iter().take(run.hints_shown).map(|h| html! { <li>{ markdown::render(h) }</li> }) }
                </ol>
            }
            if run.solved() {
                <div class="explanation" id="explanation">
                    <h3>{ "Why it works" }</h3>
                    { markdown::render(&ex.explanation) }
                </div>
            }
            if props.lock.is_none() {
                <TeacherLock run={run.clone()} on_action={props.on_action.clone()} />
            }
        </section>
    }
}

/// Properties of the [`TeacherLock`].
#[derive(Properties, PartialEq)]
pub struct TeacherProps {
    /// The exercise open.
    pub run: ExerciseRun,
    /// Where the link request goes.
    pub on_action: Callback<Action>,
}

/// The controls the exercise's reference solution uses (a teacher's default lock).
pub fn solution_controls(run: &ExerciseRun) -> Vec<Control> {
    run.exercise
        .attempt(&run.exercise.solution)
        .map(|sc| {
            Lock::for_steps(&sc.steps[run.setup_steps.min(sc.steps.len())..]).allow.into_iter().collect()
        })
        .unwrap_or_default()
}

/// For the teacher: a link to this exercise's setup with the world locked and only the
/// chosen controls left to the student.
#[function_component(TeacherLock)]
pub fn teacher_lock(props: &TeacherProps) -> Html {
    let allowed = {
        let run = props.run.clone();
        use_state(move || solution_controls(&run))
    };
    let onclick = {
        let cb = props.on_action.clone();
        let allowed = allowed.clone();
        Callback::from(move |_| cb.emit(Action::TeacherLink((*allowed).clone())))
    };
    html! {
        <details class="teacher" id="teacher">
            <summary title="Hand out this exercise with the world fixed: topology, seed and network locked">{ "Teacher: a locked link" }</summary>
            <p>{ "Controls left to the student (the clock always is; ticked: what the reference solution uses):" }</p>
            <div class="lock-controls">
                { for Control::ALL.iter().map(|&c| {
                    let allowed = allowed.clone();
                    let checked = allowed.contains(&c);
                    let onchange = Callback::from(move |e: Event| {
                        let el: HtmlInputElement = e.target_unchecked_into();
                        let mut v: Vec<Control> = (*allowed).iter().copied().filter(|x| *x != c).collect();
                        if el.checked() {
                            v.push(c);
                        }
                        allowed.set(v);
                    });
                    html! {
                        <label><input type="checkbox" data-control={c.word()} {checked} {onchange} />{ format!(" {}", c.word()) }</label>
                    }
                }) }
            </div>
            <button id="teacher-link" {onclick} title="Make the link: the exercise's setup, locked">{ "Make locked link" }</button>
        </details>
    }
}
