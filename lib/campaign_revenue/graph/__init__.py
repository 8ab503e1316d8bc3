"""Relational graph: typed vertices, edge lists, overlap pairs and components."""

from campaign_revenue.graph.algorithms import (
    connected_components,
    overlap_pairs,
    top_overlap,
)
from campaign_revenue.graph.edges import (
    customer_campaign_days,
    graph_edges,
    graph_vertices,
    vertex_id,
)

__all__ = [
    "connected_components",
    "customer_campaign_days",
    "graph_edges",
    "graph_vertices",
    "overlap_pairs",
    "top_overlap",
    "vertex_id",
]
