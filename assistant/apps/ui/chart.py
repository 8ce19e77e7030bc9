"""The figures-over-time chart (plotly, drawn by the plotly.js that Gradio ships: nothing is fetched):
dates on the x axis, one marker per cited figure; hovering shows the outlet and the quote, clicking a
marker opens its passage like its ``[n]`` (static/ui.js reads each point's turn and number)."""

from __future__ import annotations

import textwrap

from assistant.answering.types import Answer


def timeline_figure(answer: Answer, turn: int):
    """A plotly figure of the answer's timeline, or None when it has none."""
    if not answer.timeline:
        return None
    import plotly.graph_objects as go

    points = answer.timeline
    units = {p["unit"] for p in points}
    hover = ["<br>".join([f"[{p['n']}] {p['date']} · {p['outlet']}: {p['text']}",
                          *textwrap.wrap(p["quote"], 70)[:4]]) for p in points]
    figure = go.Figure(go.Scatter(
        x=[p["date"] for p in points], y=[p["value"] for p in points], mode="lines+markers+text",
        text=[f"[{p['n']}]" for p in points], textposition="top center",
        marker={"size": 12}, line={"dash": "dot", "width": 1},
        customdata=[[turn, p["n"]] for p in points], hovertext=hover, hoverinfo="text"))
    figure.update_layout(height=260, margin={"l": 50, "r": 10, "t": 30, "b": 40}, showlegend=False,
                         title={"text": "Figures over time (click a marker to open its passage)", "font": {"size": 12}},
                         yaxis_title=units.pop() if len(units) == 1 else "", xaxis={"type": "date"})
    return figure
