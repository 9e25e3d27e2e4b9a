//! The parameter calculator: shapes and sharing in, parameters and bytes by part out, ALBERT
//! beside a BERT of the same shapes, with presets for the released checkpoints and the loaded
//! model's own shapes as one click. The arithmetic is `view_model::calc`.

use leptos::prelude::*;

use crate::state::use_app;
use crate::ui::Card;
use crate::view_model::calc::{albert, bert, bytes, preset_by_id, Count, Sharing, Shapes, PAPER_NOTE, PRESETS};
use crate::view_model::format;

/// Shapes from a loaded model's config.json (ALBERT's sharing: its groups and inner layers).
fn shapes_of(c: &albert::Config) -> Shapes {
    Shapes {
        vocab: c.vocab_size,
        embedding: c.embedding_size,
        hidden: c.hidden_size,
        layers: c.num_hidden_layers,
        heads: c.num_attention_heads,
        intermediate: c.intermediate_size,
        groups: c.num_hidden_groups,
        inner: c.inner_group_num,
        sharing: Sharing::All,
        max_positions: c.max_position_embeddings,
        type_vocab: c.type_vocab_size,
    }
}

/// A number input bound to one field of the shapes.
#[component]
fn ShapeInput(
    /// The label.
    label: &'static str,
    /// The shapes being edited.
    shapes: RwSignal<Shapes>,
    /// Reads the field.
    get: fn(&Shapes) -> usize,
    /// Writes the field.
    set: fn(&mut Shapes, usize),
) -> impl IntoView {
    view! {
        <label class="calc-field">
            <span>{label}</span>
            <input
                type="number"
                min="1"
                prop:value=move || shapes.with(get).to_string()
                on:input=move |ev| {
                    if let Ok(v) = event_target_value(&ev).trim().parse::<usize>() {
                        if v >= 1 {
                            shapes.update(|s| set(s, v));
                        }
                    }
                }
            />
        </label>
    }
}

fn row(name: &'static str, a: usize, b: usize) -> impl IntoView {
    view! {
        <tr>
            <th scope="row">{name}</th>
            <td>{format::thousands(a as u64)}</td>
            <td>{format::thousands(b as u64)}</td>
        </tr>
    }
}

/// The calculator card.
#[component]
pub fn ParameterCalculator() -> impl IntoView {
    let state = use_app();
    let start = preset_by_id("albert-base-v2").map(|p| p.shapes).unwrap_or(PRESETS[0].shapes);
    let shapes = RwSignal::new(start);
    let preset = RwSignal::new("albert-base-v2".to_string());
    let a: Memo<Count> = Memo::new(move |_| shapes.with(albert));
    let b: Memo<Count> = Memo::new(move |_| shapes.with(bert));
    let choose = move |ev| {
        let id = event_target_value(&ev);
        if id == "loaded" {
            if let Some(c) = state.model.with_untracked(|m| m.as_ref().map(|m| m.info.config.clone())) {
                shapes.set(shapes_of(&c));
            }
        } else if let Some(p) = preset_by_id(&id) {
            shapes.set(p.shapes);
        }
        preset.set(id);
    };
    let total_bytes = move |c: Count| {
        let (f32b, f16b) = bytes(c.total());
        format!("{} f32 · {} f16", format::bytes(f32b), format::bytes(f16b))
    };
    view! {
        <Card class="calc" title_id="calc-title" title="Parameter calculator">
            <label class="field-label" for="calc-preset">"Start from"</label>
            <select id="calc-preset" data-testid="calc-preset" prop:value=move || preset.get() on:change=choose>
                {PRESETS.iter().map(|p| view! { <option value=p.id>{p.id}</option> }).collect_view()}
                {move || state.model.with(|m| m.as_ref().map(|m| view! { <option value="loaded">{format!("the loaded model ({})", m.label)}</option> }))}
            </select>
            <div class="calc-grid">
                <ShapeInput label="vocabulary V" shapes=shapes get=|s| s.vocab set=|s, v| s.vocab = v />
                <ShapeInput label="embedding E" shapes=shapes get=|s| s.embedding set=|s, v| s.embedding = v />
                <ShapeInput label="hidden H" shapes=shapes get=|s| s.hidden set=|s, v| s.hidden = v />
                <ShapeInput label="layers L" shapes=shapes get=|s| s.layers set=|s, v| s.layers = v />
                <ShapeInput label="heads" shapes=shapes get=|s| s.heads set=|s, v| s.heads = v />
                <ShapeInput label="FFN" shapes=shapes get=|s| s.intermediate set=|s, v| s.intermediate = v />
                <ShapeInput label="groups" shapes=shapes get=|s| s.groups set=|s, v| s.groups = v />
                <ShapeInput label="inner layers" shapes=shapes get=|s| s.inner set=|s, v| s.inner = v />
                <label class="calc-field">
                    <span>"sharing"</span>
                    <select
                        data-testid="calc-sharing"
                        prop:value=move || shapes.with(|s| s.sharing.key())
                        on:change=move |ev| {
                            if let Some(x) = Sharing::from_key(&event_target_value(&ev)) {
                                shapes.update(|s| s.sharing = x);
                            }
                        }
                    >
                        <option value="all">"all (one block per group)"</option>
                        <option value="attention">"attention only"</option>
                        <option value="ffn">"FFN only"</option>
                        <option value="none">"none (BERT-like)"</option>
                    </select>
                </label>
            </div>
            <table class="calc-table" data-testid="calc-params" data-params=move || a.get().total().to_string()>
                <thead>
                    <tr><th scope="col">"parameters"</th><th scope="col">"ALBERT"</th><th scope="col">"BERT, same shapes"</th></tr>
                </thead>
                <tbody>
                    {move || {
                        let (x, y) = (a.get(), b.get());
                        view! {
                            {row("embeddings", x.embeddings, y.embeddings)}
                            {row("E→H projection", x.projection, y.projection)}
                            {row("encoder", x.encoder, y.encoder)}
                            {row("pooler", x.pooler, y.pooler)}
                            {row("total", x.total(), y.total())}
                        }
                    }}
                    <tr>
                        <th scope="row">"bytes"</th>
                        <td>{move || total_bytes(a.get())}</td>
                        <td>{move || total_bytes(b.get())}</td>
                    </tr>
                </tbody>
            </table>
            {move || state.model.with(|m| m.as_ref().map(|m| view! {
                <p class="calc-loaded" data-testid="calc-loaded" data-params=m.info.checkpoint_parameters.to_string()>
                    {format!(
                        "The loaded model, {}: {} parameters in its checkpoint ({}, heads included).",
                        m.label,
                        format::thousands(m.info.checkpoint_parameters as u64),
                        m.info.architecture
                    )}
                </p>
            }))}
            <p class="hint">
                "Counts are transformers' AlbertModel / BertModel (no pretraining heads). " {PAPER_NOTE}
            </p>
        </Card>
    }
}
